"""The production ledger is its own history: its history table goes.

Every ledger row is written once and never changed (a trigger refuses UPDATE and DELETE on
PostgreSQL), so its history table held a copy of each row and cost an insert on every tap. The
audit seal now covers the ledger table itself; seals made before keep their parts of the dropped
table, which `verify_audit_trail` accepts on their stored digests (`mes.audit.RETIRED_TABLES`).
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('workorders', '0007_part_lot_order_numbers_validated'),
    ]

    operations = [
        migrations.DeleteModel(
            name='HistoricalProductionEvent',
        ),
    ]
