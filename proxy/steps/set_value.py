"""``set``: write a value at a path, from a constant, a reference, or a template.

Exactly one of ``value`` (a constant), ``from`` (a reference: a document path, or ``$…`` for the
request context) or ``template`` (text with ``{ref}`` fields). With ``if_missing: true`` an
existing non-null value is kept. Context references: ``$request.<Param>`` (what the client sent),
``$path.<name>`` (path template fields), ``$query.<name>``, ``$account.sid``, ``$upstream.user``,
``$route.path``, ``$now`` (the request's time).

Examples::

    - {op: set, at: api_version, value: "2010-04-01"}
    - {op: set, at: account_sid, from: $account.sid}
    - {op: set, at: text, from: $request.Body}
    - {op: set, at: uri, template: "/2010-04-01/Accounts/{$account.sid}/Messages/{sid}.json"}
    - {op: set, at: num_media, value: "0", if_missing: true}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Ref, Step, Template, compiled, parse_path
from proxy.pipeline.writer import Slot, Writer


class SetValue(Step):
    op: Literal["set"]
    at: str
    value: Any = None
    from_: str | None = Field(default=None, alias="from")
    template: str | None = None
    if_missing: bool = False
    _at: DataPath = PrivateAttr()
    _from: Ref | None = PrivateAttr(default=None)
    _template: Template | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_source(self) -> SetValue:
        given = [
            "value" in self.model_fields_set,
            self.from_ is not None,
            self.template is not None,
        ]
        if sum(given) != 1:
            raise ValueError("'set' takes exactly one of 'value', 'from' or 'template'")
        return self

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))
        if not self._at.segments:
            raise ValueError("'set' needs a non-empty 'at'")
        compiled(self, "_from", Ref(self.from_) if self.from_ is not None else None)
        compiled(self, "_template", Template(self.template) if self.template is not None else None)

    def emit(self, w: Writer) -> bool:
        """Each place at ``at`` (made, with its parents, where missing: the document must be
        an object) gets the value; with ``if_missing`` a place holding a non-null value
        keeps it. The value is computed per place, after its parents are made."""
        with w.slot(self._at, creates=True) as slot:
            if not self.if_missing:
                self._emit_value(w, slot)
                return True
            current = slot.value
            with w.block(f"if {current} is _M or {current} is None:"):
                self._emit_value(w, slot)
            slot.settled()
        return True

    def _emit_value(self, w: Writer, slot: Slot) -> None:
        """A template's text; a reference's value copied (none reads as null); a constant,
        copied too unless immutable (``rules.copy_of``)."""
        if self._template is not None:
            slot.assign(self._template.emit(w))
        elif self._from is not None:
            slot.assign(w.copy_of(w.value(self._from, absent="None")))
        else:
            slot.assign(w.constant(self.value))
