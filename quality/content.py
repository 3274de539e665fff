"""The texts of quality content that carry translations (see `mes.content`), each with its longest;
`[n]` is a list of texts (a choice item's options, in their order)."""

ITEM_TEXTS = {"prompt": 300, "help_text": 2000, "choices": [200]}
SOP_TEXTS = {"body": 200_000}
TITLE_TEXTS = {"title": 200}  # a checklist's or an SOP's title
