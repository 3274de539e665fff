"""Qualifications: who may work at which workstation, granted by quality; the roles' permissions."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from mes import roles

PERMISSIONS = {
    roles.QUALITY: ["quality.view_qualification", "quality.grant_qualification"],
    roles.SUPERVISOR: ["quality.view_qualification"],
}


def grant(apps, schema_editor):
    roles.ensure_permissions(apps, "quality")
    for role, perms in PERMISSIONS.items():
        roles.grant(apps, role, perms)
    roles.grant_view_all(apps, roles.AUDITOR, ["quality"])
    roles.grant_all(apps, roles.ADMIN, ["quality"])


class Migration(migrations.Migration):

    dependencies = [
        ('mes', '0007_people_desk'),
        ('quality', '0006_request_author'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalQualification',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('valid_until', models.DateField(help_text="The last day the qualification holds (site's date).")),
                ('granted_at', models.DateTimeField()),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('revoke_reason', models.CharField(blank=True, max_length=500)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('granted_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('revoked_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('workstation', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='mes.workstation')),
            ],
            options={
                'verbose_name': 'historical qualification',
                'verbose_name_plural': 'historical qualifications',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='Qualification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('valid_until', models.DateField(help_text="The last day the qualification holds (site's date).")),
                ('granted_at', models.DateTimeField()),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('revoke_reason', models.CharField(blank=True, max_length=500)),
                ('granted_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('revoked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='qualifications', to=settings.AUTH_USER_MODEL)),
                ('workstation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='qualifications', to='mes.workstation')),
            ],
            options={
                'ordering': ['workstation', 'user', '-valid_until'],
                'permissions': [('grant_qualification', 'Grant and revoke qualifications')],
                'indexes': [models.Index(fields=['workstation', 'user'], name='qualification_lookup')],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
