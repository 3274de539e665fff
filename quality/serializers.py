"""The quality API's serializers: what a template, run, nonconformance, hold and signature look
like in JSON, and the bodies the API accepts (submit, correct, open, disposition, place, release).
Validation of the shape only: the rules live in the services."""

from __future__ import annotations

from rest_framework import serializers

from mes.signatures import Signature, signature_is_intact
from quality.models import (
    ChecklistItem,
    ChecklistResponse,
    ChecklistRun,
    ChecklistTemplate,
    Hold,
    Nonconformance,
)
from quality.states import Disposition, VersionStatus


class ItemSerializer(serializers.ModelSerializer):
    field = serializers.SerializerMethodField(help_text="The name of this item's answer in a submission.")

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "field",
            "position",
            "kind",
            "prompt",
            "help_text",
            "required",
            "unit",
            "lsl",
            "usl",
            "target",
            "decimals",
            "choices",
            "multiple",
            "translations",
        ]

    def get_field(self, item) -> str:
        return f"item_{item.pk}"


class TemplateSerializer(serializers.ModelSerializer):
    effective_version = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistTemplate
        fields = [
            "id",
            "site",
            "code",
            "title",
            "description",
            "signature_required",
            "effective_version",
            "items",
        ]

    def _effective(self, template):
        return next((v for v in template.versions.all() if v.status == VersionStatus.EFFECTIVE), None)

    def get_effective_version(self, template) -> int | None:
        version = self._effective(template)
        return version.version if version else None

    def get_items(self, template) -> list[dict]:
        version = self._effective(template)
        return ItemSerializer(version.items.all(), many=True).data if version else []


class ResponseSerializer(serializers.ModelSerializer):
    value = serializers.CharField(source="display_value", read_only=True)

    class Meta:
        model = ChecklistResponse
        fields = [
            "id",
            "item",
            "value",
            "value_number",
            "value_text",
            "value_bool",
            "value_choices",
            "in_spec",
            "recorded_by",
            "recorded_at",
            "supersedes",
            "correction_reason",
        ]


class RunSerializer(serializers.ModelSerializer):
    responses = ResponseSerializer(many=True, read_only=True)
    template_code = serializers.CharField(source="template.code", read_only=True)
    version_number = serializers.IntegerField(source="version.version", read_only=True)

    class Meta:
        model = ChecklistRun
        fields = [
            "id",
            "template",
            "template_code",
            "version_number",
            "workstation",
            "work_order",
            "operation",
            "trigger",
            "status",
            "started_by",
            "started_at",
            "completed_by",
            "completed_at",
            "responses",
        ]


class RunSubmitSerializer(serializers.Serializer):
    template = serializers.IntegerField()
    workstation = serializers.IntegerField()
    operation = serializers.IntegerField(required=False, allow_null=True)
    trigger = serializers.CharField(required=False, allow_blank=True, default="")
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Answers by item field: {"item_12": "10.02", "item_13": ["A"]}.',
    )
    idempotency_key = serializers.UUIDField(required=False, help_text="Or the Idempotency-Key header.")
    password = serializers.CharField(
        required=False, write_only=True, help_text="When the template is signed."
    )
    badge_number = serializers.CharField(required=False, write_only=True)
    pin = serializers.CharField(required=False, write_only=True)


class CorrectionSerializer(serializers.Serializer):
    value = serializers.JSONField()
    reason = serializers.CharField()
    idempotency_key = serializers.UUIDField(required=False)


class NonconformanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Nonconformance
        fields = [
            "id",
            "number",
            "site",
            "title",
            "description",
            "status",
            "automatic",
            "work_order",
            "operation",
            "workstation",
            "lot_code",
            "response",
            "item",
            "operator",
            "opened_by",
            "opened_at",
            "investigation_note",
            "disposition",
            "disposition_note",
            "dispositioned_by",
            "dispositioned_at",
            "closed_by",
            "closed_at",
        ]
        read_only_fields = fields


class NonconformanceOpenSerializer(serializers.Serializer):
    site = serializers.IntegerField(required=False)
    title = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    work_order = serializers.IntegerField(required=False, allow_null=True)
    operation = serializers.IntegerField(required=False, allow_null=True)
    lot_code = serializers.CharField(required=False, allow_blank=True, default="")
    idempotency_key = serializers.UUIDField(required=False)


class DispositionSerializer(serializers.Serializer):
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    note = serializers.CharField()
    password = serializers.CharField(write_only=True)


class HoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hold
        fields = [
            "id",
            "target",
            "work_order",
            "lot_code",
            "site",
            "reason",
            "status",
            "nonconformance",
            "placed_by",
            "placed_at",
            "released_by",
            "released_at",
            "release_reason",
        ]
        read_only_fields = fields


class HoldPlaceSerializer(serializers.Serializer):
    work_order = serializers.IntegerField()
    reason = serializers.CharField()
    nonconformance = serializers.IntegerField(required=False, allow_null=True)
    idempotency_key = serializers.UUIDField(required=False)


class HoldReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField()
    password = serializers.CharField(write_only=True)
    idempotency_key = serializers.UUIDField(required=False)


class SignatureSerializer(serializers.ModelSerializer):
    record_type = serializers.SerializerMethodField()
    intact = serializers.SerializerMethodField(help_text="False when the record changed after signing.")

    class Meta:
        model = Signature
        fields = [
            "id",
            "record_type",
            "object_id",
            "signer",
            "printed_name",
            "meaning",
            "method",
            "signed_at",
            "content_hash",
            "comment",
            "intact",
        ]

    def get_record_type(self, signature) -> str:
        return f"{signature.content_type.app_label}.{signature.content_type.model}"

    def get_intact(self, signature) -> bool:
        return signature_is_intact(signature)
