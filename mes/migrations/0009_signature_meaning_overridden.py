from django.db import migrations, models

MEANINGS = [
    ("authored", "Authored"),
    ("reviewed", "Reviewed"),
    ("approved", "Approved"),
    ("performed", "Performed"),
    ("verified", "Verified"),
    ("released", "Released"),
    ("rejected", "Rejected"),
    ("overridden", "Overridden"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0008_signature_meaning_rejected"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalsignature",
            name="meaning",
            field=models.CharField(choices=MEANINGS, max_length=16),
        ),
        migrations.AlterField(
            model_name="signature",
            name="meaning",
            field=models.CharField(choices=MEANINGS, max_length=16),
        ),
    ]
