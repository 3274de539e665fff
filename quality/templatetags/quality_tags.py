from django import template

from quality.instructions import render_instruction

register = template.Library()


@register.filter
def instruction(version):
    """`{{ version|instruction }}`: an SOP version's text as cleaned HTML."""
    return render_instruction(version)
