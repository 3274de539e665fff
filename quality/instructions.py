"""Work instructions as rich text: Markdown rendered to HTML, then cleaned to an allow-list.

Authors write headings, lists, tables, emphasis and links, and place the version's images with
`![caption](image:N)`. The HTML that reaches a tablet passes through nh3 (an allow-list
sanitiser): no scripts, styles, event handlers or foreign image sources, whatever the text says.
An image shows only from the URL the app serves for one of this version's own uploaded images
(what `image:N` becomes); any other source, another host's or another version's, is dropped, so a
tablet never fetches from elsewhere and an approved version shows exactly the images it was signed
with.
"""

from __future__ import annotations

import re

import markdown
import nh3
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

IMAGE_REFERENCE = re.compile(r"\]\(\s*image:(\d+)\s*\)")
TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a", "img",
}  # fmt: skip
# `img src` is not listed here: `tag_attribute_values` admits only the version's own image URLs.
ATTRIBUTES = {"a": {"href", "title"}, "img": {"alt", "title"}, "th": {"align"}, "td": {"align"}}


def render_instruction(version, body: str | None = None) -> SafeString:
    """The version's text (or `body`, one of its translations) as safe HTML, its `image:N`
    references pointing at its images."""
    urls = {image.number: reverse("quality_sop_image", args=[image.pk]) for image in version.images.all()}

    def image_url(match: re.Match) -> str:
        return f"]({urls.get(int(match.group(1)), '#missing-image-' + match.group(1))})"

    html = markdown.markdown(
        IMAGE_REFERENCE.sub(image_url, (version.body if body is None else body) or ""),
        extensions=["tables", "sane_lists"],
    )
    return mark_safe(  # cleaned by nh3 just now
        nh3.clean(
            html,
            tags=TAGS,
            attributes=ATTRIBUTES,
            tag_attribute_values={"img": {"src": set(urls.values())}},
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
        )
    )
