"""The texts of quality content that carry translations (see `mes.content`), each with its longest."""

ITEM_TEXTS = {"prompt": 300, "help_text": 2000}
SOP_TEXTS = {"body": 200_000}
