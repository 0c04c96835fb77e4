"""The answering page's fields, rendered in Python.

An article has 50+ questions, and rendering each field through crispy-forms'
``as_crispy_field`` and the widget templates took most of the page's time. This
module writes the same markup that crispy-bootstrap5's ``bootstrap5/field.html``
(with ``questionnaire/widgets/*.html`` for the composite kinds) produces for the
kinds of ``questionnaire.kinds``: the label, or a fieldset whose legend is the
question; the help text with the id that ``aria-describedby`` names; the errors
(``<id>_error``, ``aria-invalid``, ``is-invalid``); the values typed when the form
is shown again after an error. Ids and names are unchanged: the page's JavaScript,
the autosave and the tests rely on them.

Every value is escaped (``_e``: ``conditional_escape`` without its lazy-string
wrapper, which cost more than the rendering itself at this volume). A widget this
module does not know falls back to crispy-forms.
"""

from __future__ import annotations

from html import escape as _html_escape

from django import forms
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from .kinds import YES_NO_CHOICES, RowsWidget, TACategory, TAPriority, TechnicalAssistanceWidget


def _e(value) -> str:
    """conditional_escape: markup already marked safe is kept, anything else escaped."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return _html_escape(str(value), quote=True)


def _attrs(attrs: dict) -> str:
    """Django's ``django/forms/widgets/attrs.html`` (True: bare name; False/None: left out)."""
    out = []
    for name, value in attrs.items():
        if value is True:
            out.append(f" {_e(name)}")
        elif value is not False and value is not None:
            out.append(f' {_e(name)}="{_e(value)}"')
    return "".join(out)


def _errors_block(auto_id: str, errors) -> str:
    """crispy-bootstrap5's layout/field_errors_block.html, always displayed: a
    composite answer (legislation rows, TA block) has no .is-invalid sibling for
    Bootstrap's selector to reveal the message with."""
    if not errors:
        return ""
    id_ = _e(auto_id)
    items = "".join(f'<p id="error_{i}_{id_}"><strong>{_e(error)}</strong></p>' for i, error in enumerate(errors, 1))
    return f'<div id="{id_}_error" class="invalid-feedback d-block">{items}</div>'


def _help_text(auto_id: str, help_text) -> str:
    """crispy-bootstrap5's layout/help_text.html."""
    if not help_text:
        return ""
    return f'<div id="{_e(auto_id)}_helptext" class="form-text">{_e(help_text)}</div>'


def _choices(bf, widget, errors) -> str:
    """crispy-bootstrap5's layout/radio_checkbox_select.html (radios and checkboxes)."""
    attrs = bf.build_widget_attrs({"id": widget.attrs.get("id") or bf.auto_id})
    invalid = " is-invalid" if errors else ""
    name = _e(bf.html_name)
    values = widget.format_value(bf.value())
    groups = widget.optgroups(bf.html_name, values, attrs)
    options = [option for _group, group_options, _index in groups for option in group_options]
    last = len(options) - 1
    parts = []
    for i, option in enumerate(options):
        option_attrs = option["attrs"]
        parts.append(
            f'<div class="form-check"><input type="{_e(option["type"])}"'
            f' class="form-check-input{invalid}" name="{name}"'
            f' value="{_e(option["value"])}"{_attrs(option_attrs)}>'
            f'<label for="{_e(option_attrs.get("id", ""))}" class="form-check-label">{_e(option["label"])}</label>'
            f"{_errors_block(bf.auto_id, errors) if i == last else ''}</div>"
        )
    return f"<div>{''.join(parts)}</div>{_help_text(bf.auto_id, bf.help_text)}"


def _input(bf, widget, errors) -> str:
    """A text input, number input or textarea as crispy's ``crispy_field`` renders
    it (the widget's name as a class, then form-control), then errors and help text."""
    attrs = {
        **widget.attrs,
        "class": f"{widget.__class__.__name__.lower()} form-control{' is-invalid' if errors else ''}",
        **bf.build_widget_attrs({"id": bf.auto_id}),
    }
    value = widget.format_value(bf.value())
    if isinstance(widget, forms.Textarea):
        control = f'<textarea name="{_e(bf.html_name)}"{_attrs(attrs)}>\n{_e(value) if value else ""}</textarea>'
    else:
        value_attr = f' value="{_e(value)}"' if value is not None else ""
        control = f'<input type="{_e(widget.input_type)}" name="{_e(bf.html_name)}"{value_attr}{_attrs(attrs)}>'
    return f"{control}{_errors_block(bf.auto_id, errors)}{_help_text(bf.auto_id, bf.help_text)}"


def _rows(bf, widget: RowsWidget, errors) -> str:
    """templates/questionnaire/widgets/rows.html (legislation), then errors and help text."""
    name = _e(bf.html_name)
    entry = gettext("Entry %(n)s")
    input_types = {"link": "url", "date": "date"}
    parts = [(_e(part), _e(label), input_types.get(part, "text"), part) for part, label in widget.parts]
    column = f"col-md-{12 // max(len(parts), 1)}"
    fieldsets = []
    for i, row in enumerate([*(bf.value() or []), {}]):
        cells = "".join(
            f'<div class="{column}"><label class="form-label small mb-0" for="id_{name}-{i}-{part}">{label}</label>'
            f'<input type="{input_type}" class="form-control form-control-sm" id="id_{name}-{i}-{part}"'
            f' name="{name}-{i}-{part}" value="{_e(row.get(key, ""))}" maxlength="500"></div>'
            for part, label, input_type, key in parts
        )
        fieldsets.append(
            f'<fieldset class="row g-2 mb-2"><legend class="visually-hidden">{_e(entry % {"n": i + 1})}</legend>'
            f"{cells}</fieldset>"
        )
    return (
        f'<div class="rows-widget" id="{_e(bf.auto_id)}">{"".join(fieldsets)}'
        f'<p class="small text-body-secondary">{_e(gettext("Save to get another empty line."))}</p></div>'
        f"{_errors_block(bf.auto_id, errors)}{_help_text(bf.auto_id, bf.help_text)}"
    )


def _technical_assistance(bf, errors) -> str:
    """templates/questionnaire/widgets/technical_assistance.html, then errors and help text."""
    name, id_ = _e(bf.html_name), _e(bf.auto_id)
    value = bf.value() or {}
    needed = value.get("needed")
    needed = "yes" if needed in (True, "yes") else "no" if needed in (False, "no") else ""
    categories = value.get("categories") or []
    priority = value.get("priority") or ""
    details = value.get("details") or ""
    # Inline radios: the white space between them is part of their spacing.
    radios = "\n".join(
        f'<div class="form-check form-check-inline"><input class="form-check-input" type="radio" name="{name}-needed"'
        f' id="{id_}-needed-{_e(v)}" value="{_e(v)}"{" checked" if needed == v else ""}>'
        f'<label class="form-check-label" for="{id_}-needed-{_e(v)}">{_e(label)}</label></div>'
        for v, label in YES_NO_CHOICES
    )
    boxes = "".join(
        f'<div class="col-md-6 form-check"><input class="form-check-input" type="checkbox" name="{name}-categories"'
        f' id="{id_}-cat-{_e(v)}" value="{_e(v)}"{" checked" if v in categories else ""}>'
        f'<label class="form-check-label" for="{id_}-cat-{_e(v)}">{_e(label)}</label></div>'
        for v, label in TACategory.choices
    )
    options = "".join(
        f'<option value="{_e(v)}"{" selected" if priority == v else ""}>{_e(label)}</option>'
        for v, label in TAPriority.choices
    )
    return (
        f'<div class="ta-widget border rounded p-2" id="{id_}">'
        f'<fieldset class="mb-2"><legend class="form-label fs-6">'
        f'{_e(gettext("Does your State need technical assistance for this provision?"))}</legend>{radios}</fieldset>'
        f'<fieldset class="mb-2"><legend class="form-label fs-6">'
        f'{_e(gettext("Categories (when assistance is needed)"))}</legend>'
        f'<div class="row">{boxes}</div></fieldset>'
        f'<div class="mb-2"><label class="form-label" for="{id_}-priority">{_e(gettext("Priority"))}</label>'
        f'<select class="form-select form-select-sm w-auto" name="{name}-priority" id="{id_}-priority">'
        f'<option value="">—</option>{options}</select></div>'
        f'<div><label class="form-label" for="{id_}-details">{_e(gettext("What assistance, and for whom?"))}</label>'
        f'<textarea class="form-control" rows="2" name="{name}-details" id="{id_}-details">{_e(details)}'
        "</textarea></div>"
        f"</div>{_errors_block(bf.auto_id, errors)}{_help_text(bf.auto_id, bf.help_text)}"
    )


def render_answer_field(bf) -> SafeString:
    """One question's field, as ``{{ bf|as_crispy_field }}`` renders it with
    crispy-bootstrap5 (no layout helper, labels shown)."""
    widget = bf.field.widget
    errors = bf.errors
    if isinstance(widget, (forms.RadioSelect, forms.CheckboxSelectMultiple)):
        body = _choices(bf, widget, errors)
    elif isinstance(widget, RowsWidget):
        body = _rows(bf, widget, errors)
    elif isinstance(widget, TechnicalAssistanceWidget):
        body = _technical_assistance(bf, errors)
    elif isinstance(widget, (forms.Textarea, forms.TextInput, forms.NumberInput)) and not bf.is_hidden:
        body = _input(bf, widget, errors)
    else:
        from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

        return as_crispy_field(bf)

    css = bf.css_classes()
    open_div = f'<div id="div_{_e(bf.auto_id)}" class="mb-3{" " + _e(css) if css else ""}">'
    if not bf.label:
        return mark_safe(f"{open_div}{body}</div>")
    required = bf.field.required
    label = f'{_e(bf.label)}<span class="asteriskField">*</span>' if required else _e(bf.label)
    label_class = "form-label requiredField" if required else "form-label"
    id_for_label = bf.id_for_label
    for_attr = f' for="{_e(id_for_label)}"' if id_for_label else ""
    if bf.use_fieldset:
        describedby = bf.aria_describedby
        describedby_attr = f' aria-describedby="{_e(describedby)}"' if describedby else ""
        return mark_safe(
            f'{open_div}<fieldset{describedby_attr}><legend{for_attr} class="{label_class} fs-6">{label}</legend>'
            f"{body}</fieldset></div>"
        )
    return mark_safe(f'{open_div}<label{for_attr} class="{label_class}">{label}</label>{body}</div>')
