"""The reconciliation CSV is written through the one CSV writer: an ERP order or material number
typed as a formula reaches the supervisor's spreadsheet as text, and the quantities stay numbers."""

from __future__ import annotations

import csv
import io

from workorders.models import Product, WorkOrder


def test_reconciliation_csv_writes_formula_like_numbers_as_text(client_for, supervisor, started):
    started.good(2)
    # An order and a material from before their numbers were validated.
    WorkOrder.objects.filter(pk=started.order.pk).update(number="=1+2")
    Product.objects.filter(pk=started.order.product_id).update(part_number="=2+3")

    response = client_for(supervisor).get("/integration/reconciliation.csv")

    assert response.status_code == 200
    (row,) = csv.DictReader(io.StringIO(response.content.decode()))
    assert (row["order"], row["material"]) == ("'=1+2", "'=2+3")
    assert (row["mes_good"], row["erp_good"], row["good_difference"]) == ("2", "0", "2")
