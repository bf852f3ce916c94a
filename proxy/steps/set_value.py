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

import copy
from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from proxy.engine.exchange import Exchange
from proxy.pipeline import kernels
from proxy.pipeline.paths import MISSING, DataPath, assign
from proxy.pipeline.step import (
    Ref,
    Step,
    StepFailure,
    StepFn,
    Template,
    compiled,
    parse_path,
)


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

    def apply(self, ex: Exchange, doc: Any) -> Any:
        if not isinstance(doc, dict):
            raise StepFailure(f"expected an object, found {type(doc).__name__}")
        top = self._at.top_key
        if top is not None:  # the common case: one plain key
            if not (self.if_missing and doc.get(top) is not None):
                doc[top] = self._value(ex, doc)
            return doc
        for parent, key, where in self._at.parents(doc, create=True):
            if self.if_missing and _present(parent, key):
                continue
            value = self._value(ex, doc)
            if not assign(parent, key, value):
                raise StepFailure("cannot set a value here", where)
        return doc

    def fast_apply(self) -> StepFn:
        top, if_missing = self._at.top_key, self.if_missing
        segments = self._at.segments
        source = self._source()
        if top is None and len(segments) == 2 and all(isinstance(s, str) for s in segments):
            return self._nested(str(segments[0]), str(segments[1]), source)
        if top is None:
            return self.apply

        return kernels.set_key(top, if_missing, source, self.apply)

    def _nested(self, outer: str, inner: str, source: StepFn) -> StepFn:
        """``subresource_uris.media``: two plain keys, the outer object made when missing."""
        if_missing = self.if_missing

        def set_nested(ex: Exchange, doc: Any) -> Any:
            if not isinstance(doc, dict):
                raise StepFailure(f"expected an object, found {type(doc).__name__}")
            parent = doc.get(outer)
            if parent is None:
                parent = doc[outer] = {}
            elif not isinstance(parent, dict):
                return self.apply(ex, doc)
            if not (if_missing and parent.get(inner) is not None):
                parent[inner] = source(ex, doc)
            return doc

        return set_nested

    def _source(self) -> StepFn:
        """Where the value comes from, decided once."""
        if self._template is not None:
            return self._template.renderer()
        ref = self._from
        if ref is not None:
            if not ref.context and ref.path.top_key is not None:
                key = ref.path.top_key

                def from_key(_ex: Exchange, doc: Any) -> Any:
                    found = doc.get(key) if isinstance(doc, dict) else None
                    return (
                        found
                        if isinstance(found, str | int | float | None)
                        else (copy.deepcopy(found))
                    )

                return from_key
            return kernels.copied(ref.getter())
        value = self.value
        if isinstance(value, str | int | float | bool | None):
            return lambda _ex, _doc: value
        return self._value

    def _value(self, ex: Exchange, doc: Any) -> Any:
        if self._template is not None:
            return self._template.render(ex, doc)
        if self._from is not None:
            found = self._from.get(ex, doc)
            return None if found is MISSING else copy.deepcopy(found)
        return copy.deepcopy(self.value)


def _present(parent: Any, key: Any) -> bool:
    if isinstance(parent, dict):
        return parent.get(key) is not None
    return False
