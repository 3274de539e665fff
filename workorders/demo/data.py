"""What the demo plant is made of: reason codes, products, BOMs, GS1 labels, routings, the orders
and where the demo leaves each, holds, cancellations, downtimes and waits for material.

Plain data only; `master` writes the master data, `simulator` plans the floor from it and
`replay` writes the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from workorders.gs1 import gs1_check_digit
from workorders.states import Loss, LotScope, ReasonKind, Tracking, WorkOrderStatus

S = WorkOrderStatus
SEED = 2026
OPERATORS = ("operator", "operator2")
SUPERVISOR = "supervisor"
ADMIN = "admin"

# code, name, kind, loss, planned
REASONS = [
    ("SCRATCH", "Scratched or dented surface", ReasonKind.SCRAP, "", False),
    ("DIM-OOT", "Dimension out of tolerance", ReasonKind.SCRAP, "", False),
    ("BURR", "Burr left on edge", ReasonKind.SCRAP, "", False),
    ("MISSING-PART", "Missing or wrong part", ReasonKind.SCRAP, "", False),
    ("LEAK", "Failed pressure or leak test", ReasonKind.SCRAP, "", False),
    ("LABEL-ERR", "Wrong or unreadable label", ReasonKind.SCRAP, "", False),
    ("BREAK", "Break", ReasonKind.PAUSE, "", False),
    ("MATERIAL", "Waiting for material", ReasonKind.PAUSE, "", False),
    ("SHIFT-HANDOVER", "Shift handover", ReasonKind.PAUSE, "", False),
    ("QC-WAIT", "Waiting for quality", ReasonKind.PAUSE, "", False),
    ("BREAKDOWN", "Breakdown", ReasonKind.DOWNTIME, Loss.BREAKDOWN, False),
    ("TOOL-CHANGE", "Unplanned tool change", ReasonKind.DOWNTIME, Loss.SETUP, False),
    ("JAM", "Jam or minor stop", ReasonKind.DOWNTIME, Loss.SMALL_STOP, False),
    ("SLOW", "Running below rated speed", ReasonKind.DOWNTIME, Loss.REDUCED_SPEED, False),
    ("PM", "Planned maintenance", ReasonKind.DOWNTIME, Loss.SETUP, True),
    ("CLEANING", "Planned cleaning", ReasonKind.DOWNTIME, Loss.SETUP, True),
    ("QHOLD", "Quality hold", ReasonKind.HOLD, "", False),
    ("CUSTOMER-HOLD", "Held at the customer's request", ReasonKind.HOLD, "", False),
]

# The reasons' names in the demo's other languages, as a plant's master data would carry them.
REASON_TRANSLATIONS = {
    "SCRATCH": ("Oberfläche zerkratzt oder verbeult", "Superficie rayada o abollada", "سطح مخدوش أو منبعج"),
    "DIM-OOT": ("Maß außerhalb der Toleranz", "Medida fuera de tolerancia", "بُعد خارج التفاوت"),
    "BURR": ("Grat an der Kante", "Rebaba en el borde", "نتوء على الحافة"),
    "MISSING-PART": ("Teil fehlt oder falsch", "Pieza faltante o incorrecta", "قطعة ناقصة أو خاطئة"),
    "LEAK": ("Druck- oder Dichtheitsprüfung nicht bestanden", "Falla en la prueba de presión o fugas",
             "فشل اختبار الضغط أو التسرب"),
    "LABEL-ERR": ("Etikett falsch oder unlesbar", "Etiqueta incorrecta o ilegible", "ملصق خاطئ أو غير مقروء"),
    "BREAK": ("Pause", "Descanso", "استراحة"),
    "MATERIAL": ("Warten auf Material", "Esperando material", "بانتظار المواد"),
    "SHIFT-HANDOVER": ("Schichtübergabe", "Relevo de turno", "تسليم الوردية"),
    "QC-WAIT": ("Warten auf Qualitätsprüfung", "Esperando a calidad", "بانتظار فحص الجودة"),
    "BREAKDOWN": ("Anlagenausfall", "Avería", "عطل"),
    "TOOL-CHANGE": ("Ungeplanter Werkzeugwechsel", "Cambio de herramienta no planificado", "تغيير أداة غير مخطط"),
    "JAM": ("Stau oder Kurzstopp", "Atasco o microparada", "انحشار أو توقف قصير"),
    "SLOW": ("Unter Nenngeschwindigkeit", "Por debajo de la velocidad nominal", "تشغيل دون السرعة المقررة"),
    "PM": ("Geplante Wartung", "Mantenimiento planificado", "صيانة مخططة"),
    "CLEANING": ("Geplante Reinigung", "Limpieza planificada", "تنظيف مخطط"),
    "QHOLD": ("Qualitätssperre", "Retención por calidad", "إيقاف للجودة"),
    "CUSTOMER-HOLD": ("Gesperrt auf Kundenwunsch", "Retenido a petición del cliente", "إيقاف بطلب من العميل"),
    "BLOCKED": ("Blockiert oder ohne Material (von der Maschine gemeldet)",
                "Bloqueada o sin material (lo indica la máquina)", "محجوب أو بلا مواد (أبلغت عنه الآلة)"),
    "OFFLINE": ("Maschine offline (keine Daten)", "Máquina desconectada (sin datos)", "الآلة غير متصلة (لا بيانات)"),
    "MACHINE-REJECT": ("Von der Maschine ausgeschleust", "Rechazada por la máquina", "رفضته الآلة"),
}  # fmt: skip


def reason_translations(code: str) -> dict:
    """A demo reason's `translations`, as `ReasonCode.translations` keeps them."""
    return {
        language: {"name": name}
        for language, name in zip(("de", "es", "ar"), REASON_TRANSLATIONS[code], strict=True)
    }


# part number, name, unit, tracking
PRODUCTS = [
    ("FG-100", "Hydraulic gear pump", "pcs", Tracking.SERIAL),
    ("HSG-10", "Pump housing", "pcs", Tracking.LOT),
    ("SHF-20", "Drive shaft", "pcs", Tracking.LOT),
    ("SEAL-5", "Seal kit", "pcs", Tracking.LOT),
    ("PKG-1", "Carton", "pcs", Tracking.LOT),
    ("SPK-100", "Seal service kit", "pcs", Tracking.LOT),
    ("RAW-AL6061", "Aluminium bar 6061 Ø80", "kg", Tracking.LOT),
    ("RAW-STEEL42", "Steel bar 42CrMo4 Ø30", "kg", Tracking.LOT),
]
# GS1 company prefix of the demo plant (a 7-digit prefix under the German GS1 range 400-440).
GS1_COMPANY_PREFIX = "4012345"
# part number: (GS1 item reference, numbering prefix, lot scope); bought parts carry the supplier's.
LABELS = {
    "FG-100": ("10001", "P", LotScope.ORDER),
    "HSG-10": ("20010", "H", LotScope.SHIFT),
    "SHF-20": ("20020", "S", LotScope.ORDER),
    "SPK-100": ("10100", "K", LotScope.ORDER),
}


def demo_gtin(item_reference: str) -> str:
    digits = GS1_COMPANY_PREFIX + item_reference
    return digits + str(gs1_check_digit(digits))


# Supplier lots in stores when the history starts: part, supplier, supplier lot, quantity.
RECEIPTS = [
    ("RAW-AL6061", "Alu Walzwerk GmbH", "AW-24-1187", "480"),
    ("RAW-AL6061", "Alu Walzwerk GmbH", "AW-24-1203", "520"),
    ("RAW-STEEL42", "Stahlhandel Ruhr AG", "SR-88412", "300"),
    ("SEAL-5", "SealTec s.r.o.", "ST-7730", "400"),
    ("SEAL-5", "SealTec s.r.o.", "ST-7741", "400"),
    ("PKG-1", "Kartonagen Mayer", "KM-0932", "600"),
    # Housings and shafts made before the history, booked to stock.
    ("HSG-10", "", "", "60"),
    ("SHF-20", "", "", "60"),
]
# Material is scanned in boxes: enough for this many units of the order at a time.
# product: [(component, quantity per unit)]
BOM = {
    "FG-100": [("HSG-10", "1"), ("SHF-20", "1"), ("SEAL-5", "1"), ("PKG-1", "1")],
    "HSG-10": [("RAW-AL6061", "1.350")],
    "SHF-20": [("RAW-STEEL42", "0.620")],
    "SPK-100": [("SEAL-5", "2"), ("PKG-1", "1")],
}


@dataclass(frozen=True)
class Step:
    sequence: int
    name: str
    workstation: str
    setup_seconds: int
    ideal_cycle_seconds: int
    scrap_rate: float  # share of units scrapped in the history
    scrap_reasons: tuple[str, ...]


MACHINING_SCRAP = ("SCRATCH", "DIM-OOT", "BURR", "DIM-OOT")
# (product, code): (name, steps)
ROUTINGS: dict[tuple[str, str], tuple[str, list[Step]]] = {
    ("HSG-10", "STD"): (
        "Housing: turn and mill",
        [
            Step(10, "Turn housing", "CNC1", 900, 95, 0.045, MACHINING_SCRAP),
            Step(20, "Mill ports and flange", "MILL1", 1200, 80, 0.04, MACHINING_SCRAP),
        ],
    ),
    ("SHF-20", "STD"): (
        "Shaft: turn and groove",
        [Step(10, "Turn and groove shaft", "CNC2", 600, 60, 0.045, MACHINING_SCRAP)],
    ),
    ("FG-100", "STD"): (
        "Pump: assemble, test, pack",
        [
            Step(10, "Assemble pump", "ASM1", 300, 115, 0.03, ("MISSING-PART", "SCRATCH")),
            Step(20, "Pressure and leak test", "TEST1", 180, 50, 0.045, ("LEAK",)),
            Step(30, "Pack and label", "PACK1", 120, 45, 0.02, ("LABEL-ERR", "SCRATCH")),
        ],
    ),
    ("FG-100", "ASM2"): (
        "Pump: assemble on bench 2, test, pack",
        [
            Step(10, "Assemble pump", "ASM2", 300, 120, 0.03, ("MISSING-PART", "SCRATCH")),
            Step(20, "Pressure and leak test", "TEST1", 180, 50, 0.045, ("LEAK",)),
            Step(30, "Pack and label", "PACK1", 120, 45, 0.02, ("LABEL-ERR", "SCRATCH")),
        ],
    ),
    ("SPK-100", "STD"): (
        "Service kit: kit and label",
        [
            Step(10, "Kit and bag seals", "PACK1", 120, 45, 0.015, ("MISSING-PART",)),
            Step(20, "Label kit", "LABEL1", 60, 30, 0.03, ("LABEL-ERR",)),
        ],
    ),
}
# Upstream stations are simulated first: a downstream operation counts what they made.
STATION_ORDER = ["CNC1", "CNC2", "MILL1", "ASM1", "ASM2", "TEST1", "PACK1", "LABEL1"]
LINE_OF_STATION = {
    "CNC1": "MACH",
    "CNC2": "MACH",
    "MILL1": "MACH",
    "ASM1": "ASSY",
    "ASM2": "ASSY",
    "TEST1": "ASSY",
    "PACK1": "PACK",
    "LABEL1": "PACK",
}


@dataclass(frozen=True)
class DemoOrder:
    number: str
    product: str
    routing: str
    quantity: int | None  # None: sized after the history so that it is still running
    status: str  # where the demo leaves it
    due_days: float
    history: bool = False  # runs on the floor in the history
    hold_at: float | None = None  # share of the working time at which quality stops it
    over_by: int = 0  # its last count goes over the quantity by this, allowed by the supervisor


ORDERS = [
    DemoOrder("WO-26101", "HSG-10", "STD", 30, S.COMPLETED, -0.5, history=True),
    DemoOrder("WO-26102", "SHF-20", "STD", 40, S.CLOSED, -1, history=True, over_by=2),
    DemoOrder("WO-26103", "FG-100", "STD", 12, S.CLOSED, -0.5, history=True),
    DemoOrder("WO-26104", "SPK-100", "STD", 50, S.COMPLETED, 0.5, history=True),
    DemoOrder("WO-26105", "HSG-10", "STD", None, S.IN_PROGRESS, 1, history=True),
    DemoOrder("WO-26106", "SHF-20", "STD", None, S.ON_HOLD, 1, history=True, hold_at=0.55),
    DemoOrder("WO-26107", "SHF-20", "STD", None, S.IN_PROGRESS, 2, history=True),
    DemoOrder("WO-26108", "FG-100", "STD", None, S.IN_PROGRESS, 1.5, history=True),
    DemoOrder("WO-26109", "FG-100", "ASM2", None, S.IN_PROGRESS, 2, history=True),
    DemoOrder("WO-26110", "SPK-100", "STD", None, S.IN_PROGRESS, 1, history=True),
    DemoOrder("WO-26111", "HSG-10", "STD", 60, S.RELEASED, 3),
    DemoOrder("WO-26112", "FG-100", "STD", 40, S.RELEASED, 4),
    DemoOrder("WO-26113", "SHF-20", "STD", 80, S.RELEASED, 3),
    DemoOrder("WO-26114", "FG-100", "ASM2", 30, S.DRAFT, 7),
    DemoOrder("WO-26115", "SPK-100", "STD", 100, S.DRAFT, 10),
    DemoOrder("WO-26116", "HSG-10", "STD", 25, S.CANCELLED, 5),
    DemoOrder("WO-26117", "FG-100", "STD", 20, S.CANCELLED, 6),
]
CLOSE_NOTE = "Booked to stock"
HOLDS = {  # order: (hold reason, note, release note or None to stay on hold)
    "WO-26106": ("QHOLD", "Shaft Ø out of tolerance on CNC2: 100 % check of the lot", None),
    "WO-26112": ("CUSTOMER-HOLD", "Customer to confirm drawing revision C", "Revision C confirmed"),
}
CANCELS = {  # order: (reason, released before it was cancelled)
    "WO-26116": ("Duplicate of WO-26111", False),
    "WO-26117": ("Customer cancelled the order", True),
}

# station, share of the working time (None: just before the end, left open), reason, minutes, note
DOWNTIMES = [
    ("CNC1", 0.36, "TOOL-CHANGE", 18, "Roughing insert broke, tool changed"),
    ("CNC2", 0.22, "JAM", 6, "Chip jam at the conveyor"),
    ("CNC2", 0.68, "BREAKDOWN", 42, "Hydraulic chuck pressure alarm"),
    ("MILL1", 0.12, "PM", 45, "Weekly spindle and coolant check"),
    ("MILL1", None, "BREAKDOWN", None, "Spindle overheating alarm, maintenance called"),
    ("ASM1", 0.41, "JAM", 4, "Press-fit fixture stuck"),
    ("ASM1", 0.74, "JAM", 7, "Bearing feeder jammed"),
    ("ASM2", 0.52, "SLOW", 25, "Nutrunner slow, torque checks every piece"),
    ("TEST1", 0.66, "BREAKDOWN", 28, "Leak sensor fault, recalibrated"),
    ("PACK1", 0.18, "JAM", 5, "Carton erector jam"),
    ("PACK1", 0.47, "JAM", 3, "Carton erector jam"),
    ("PACK1", 0.83, "JAM", 6, "Tape head jam"),
    ("LABEL1", 0.58, "CLEANING", 20, "Print head cleaning"),
]
# station, share of the working time, minutes, note
MATERIAL_WAITS = [
    ("ASM2", 0.30, 18, "Waiting for seal kits from stores"),
    ("PACK1", 0.64, 12, "Cartons low, waiting for a pallet"),
]
