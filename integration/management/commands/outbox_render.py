"""`manage.py outbox_render <message id> --connector json|b2mml`: print exactly what would be sent."""

from django.core.management.base import BaseCommand, CommandError

from integration.connectors import RENDERERS
from integration.models import OutboxMessage


class Command(BaseCommand):
    help = "Print the body a connector would send for one outbox message (to debug a mapping)."

    def add_arguments(self, parser):
        parser.add_argument("message_id", type=int)
        parser.add_argument("--connector", choices=sorted(RENDERERS), default="json")

    def handle(self, *args, message_id, connector, **options):
        message = OutboxMessage.objects.filter(pk=message_id).first()
        if message is None:
            raise CommandError(f"No outbox message {message_id}.")
        body = RENDERERS[connector](message)
        self.stdout.write(body.decode(), ending="" if body.endswith(b"\n") else "\n")
