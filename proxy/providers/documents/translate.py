"""Translate call-control documents: TwiML ⇄ Plivo XML, voice and messaging replies.

A Twilio-style app answers with TwiML, a Plivo-style app with Plivo XML, and the carrier speaks
the other language. ``twiml_to_plivo`` and ``plivo_to_twiml`` rewrite one into the other, element
by element, driven by the tables in ``tables`` (one row serves both directions).

Safety first, because the document comes from an app over the network:

- It is parsed only with defusedxml, after a size check; DTDs, entities and external references
  are refused, so an XML bomb or XXE payload raises ``DocumentError`` without expanding. Depth
  and element count are bounded before anything else looks at the tree.
- The whole document is validated against the source dialect before translation: an unknown
  element or attribute, a value outside its enumeration, stray text, or a verb the other dialect
  cannot run raises ``DocumentError`` naming it. The caller then answers the carrier with a safe
  document of its own; nothing unknown is ever forwarded.

URLs: every URL the carrier will *request* (actions, redirects, status callbacks, wait and
whisper documents) is resolved against the document's own URL the way a browser resolves a link
(``urljoin``) and handed to the caller's ``UrlMapper`` with the method the app expects and a
``kind``; what the mapper returns is written into the translated document. Media URLs (``<Play>``)
are only resolved, since the carrier fetches audio directly.

Nothing is lost silently: each approximation, drop, clamp or move is a ``Note`` in the result.

Plivo's ``redirect="false"`` (the action is called, its answer ignored, and the document goes
on) has no TwiML form. For a Plivo-style app on a Twilio carrier the element's action becomes a
URL of kind ``"continue"``; its ``extra`` carries what the proxy needs to play the part of Plivo:

- ``action``: the app's action URL, absolute; empty when the element had none (nothing to call),
- ``method``: the method the app expects on it,
- ``element``: the Plivo element whose result the carrier will post (``GetDigits``, ``Record``…),
- ``rest``: the translated TwiML of the elements that followed it, as one compact
  ``<Response>`` without declaration or whitespace: the answer to give the carrier.

``rest`` may itself hold ``continue`` URLs, so its size grows with each such element that
follows: a mapper should store the payload server side and put only a reference in the URL.
GetDigits/GetInput/Record without an action also get a ``continue`` URL (with an empty
``action``), because Twilio would otherwise re-request the current document and loop.
"""

from __future__ import annotations

import copy
import re
import types
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urljoin, urlsplit

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from proxy.providers.documents import tables as t

Style = Literal["twilio", "plivo"]

DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>'

# What a Note says was done: a closed set, fit for a metric label.
DROPPED: Final = "dropped"
APPROXIMATED: Final = "approximated"
CLAMPED: Final = "clamped"
MOVED: Final = "moved"
EXPANDED: Final = "expanded"
FOLDED: Final = "folded"
REPLACED: Final = "replaced"


class DocumentError(Exception):
    """The document cannot be translated safely; the caller answers the carrier itself.

    ``reason`` is short and safe to log: it names elements and attributes, never their values
    (which may hold phone numbers or credentials)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class UrlRequest:
    """A URL found in the document, to be routed back through the proxy.

    ``url`` is absolute (resolved against the document's URL); ``method`` is what the app expects
    (``GET``/``POST``); ``kind`` is one of the ``tables.KIND_*`` values; ``extra`` holds
    kind-specific data (see the module notes for ``continue``; an ``action`` from a Plivo
    GetDigits may carry ``validDigits`` and ``invalidDigitsSound`` for the action step to
    enforce)."""

    url: str
    method: str
    kind: str
    extra: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}), hash=False)


UrlMapper = Callable[[UrlRequest], str]


@dataclass(frozen=True)
class Note:
    """One thing the translation could not carry over exactly, for a log line and a metric.

    ``element`` and ``attribute`` name the source's element and attribute, except for a clamp,
    which names the value written in the target. ``action`` (what was done) is one of: dropped,
    approximated, clamped, moved, expanded, folded, replaced (a closed set, fit for a metric label);
    ``detail`` is a short sentence; it never quotes text or URLs from the document."""

    element: str
    attribute: str | None
    action: str
    detail: str


@dataclass
class Translated:
    """The translated document (UTF-8, with declaration) and what was approximated on the way."""

    body: bytes
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    """Deployment choices the reference leaves open.

    ``voice_fallback`` maps a language (``en-US``, or just ``en``) to the Plivo voice used in
    place of a Google voice, else ``default_voice``. ``apology`` is spoken before hanging
    up when a document uses a Twilio queue; ``queue_rooms`` maps a queue name to a Plivo
    conference room instead. ``client_endpoints`` maps a Twilio Client identity to a Plivo
    endpoint username (identity itself when absent), dialled at ``client_domain``. The ``max_*``
    values bound what a document may cost."""

    voice_fallback: Mapping[str, str] = field(default_factory=dict)
    default_voice: str = "WOMAN"
    apology: str = "Sorry, this call cannot be put in a queue. Goodbye."
    queue_rooms: Mapping[str, str] = field(default_factory=dict)
    client_domain: str = t.DEFAULT_CLIENT_DOMAIN
    client_endpoints: Mapping[str, str] = field(default_factory=dict)
    max_bytes: int = 64 * 1024
    max_depth: int = 16
    max_elements: int = 500
    max_output_bytes: int = 256 * 1024


DEFAULT: Final = Options()


# --- public entry points ----------------------------------------------------------------------


def twiml_to_plivo(
    doc: bytes,
    *,
    document_url: str,
    url_mapper: UrlMapper,
    incoming: Mapping[str, str],
    options: Options = DEFAULT,
) -> Translated:
    """A Twilio-style app's TwiML (voice or messaging reply) as Plivo XML for a Plivo carrier.

    ``incoming`` holds the Twilio-style parameters the app received; a messaging reply takes
    its ``src``/``dst`` from them (Plivo needs them written, Twilio defaults them)."""
    root = _parse(doc, options)
    _validate_tree(root, t.TWILIO)
    ctx = _Context(t.TWILIO, document_url, url_mapper, incoming, options)
    try:
        children = _t2p_response(ctx, root)
    except _Apology as apology:
        note = Note(apology.verb, None, REPLACED, "Twilio queues have no Plivo equivalent")
        speak = _make("Speak", {}, options.apology)
        return Translated(_serialize([speak, _make("Hangup", {})], options), [note])
    return Translated(_serialize(children, options), ctx.notes)


def plivo_to_twiml(
    doc: bytes,
    *,
    document_url: str,
    url_mapper: UrlMapper,
    incoming: Mapping[str, str],
    options: Options = DEFAULT,
) -> Translated:
    """A Plivo-style app's XML (voice, or a messaging reply) as TwiML for a Twilio carrier.

    ``incoming`` holds the Plivo-style parameters the app received; it tells a messaging reply
    (``MessageUUID``) from a voice document (``CallUUID``)."""
    root = _parse(doc, options)
    _validate_tree(root, t.PLIVO)
    ctx = _Context(t.PLIVO, document_url, url_mapper, incoming, options)
    return Translated(_serialize(_p2t_response(ctx, root), options), ctx.notes)


def hangup_document(style: Style) -> bytes:
    """A document that ends the call, in either dialect (both spell it the same way)."""
    if style not in (t.TWILIO, t.PLIVO):
        raise ValueError(f"unknown document style {style!r}")
    return _serialize([_make("Hangup", {})], DEFAULT)


# --- parsing and limits -----------------------------------------------------------------------


def _parse(doc: bytes, options: Options) -> ET.Element:
    """The document's root, parsed safely and within limits, or DocumentError."""
    if not isinstance(doc, bytes | bytearray):
        raise DocumentError("document is not bytes")
    if len(doc) > options.max_bytes:
        raise DocumentError("document is larger than the configured limit")
    try:
        root: ET.Element = SafeET.fromstring(
            bytes(doc), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise DocumentError("DTDs, entities and external references are refused") from None
    except (ET.ParseError, ValueError, LookupError):
        raise DocumentError("document is not well-formed XML") from None
    if root.tag != "Response":
        raise DocumentError(f"root element is <{_name(root.tag)}>, not <Response>")
    _check_shape(root, options)
    return root


def _check_shape(root: ET.Element, options: Options) -> None:
    """Bound depth and element count without recursion, before anything walks the tree."""
    stack = [(root, 1)]
    count = 0
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > options.max_depth:
            raise DocumentError("document is nested too deeply")
        if count > options.max_elements:
            raise DocumentError("document has too many elements")
        stack.extend((child, depth + 1) for child in element)


def _name(tag: str) -> str:
    """A tag or attribute name fit for a log line: printable and short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in tag)
    return text if len(text) <= 40 else text[:37] + "..."


# --- validation against the source dialect ------------------------------------------------------

_INT = re.compile(r"[0-9]{1,9}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_POLLY = re.compile(r"Polly\.[A-Z][A-Za-z]+(?:-(?:Neural|Generative|LongForm))?")
_GOOGLE = re.compile(r"Google\.([a-z]{2,3}-[A-Z]{2})-[A-Za-z0-9-]+")
_DTMF = re.compile(r"[0-9A-Da-d*#wW]+")
_KEY = re.compile(r"[0-9*#]?")
_KEYS = re.compile(r"[0-9*#]*")
_UNSAFE_URL_CHAR = re.compile(r"[\x00-\x20\x7f]")


def _is_int(value: str, minimum: int) -> bool:
    return _INT.fullmatch(value) is not None and int(value) >= minimum


_VALIDATORS: Final[dict[str, Callable[[str], bool]]] = {
    t.BOOL: lambda v: v in ("true", "false"),
    t.METHOD: lambda v: v.upper() in ("GET", "POST"),
    t.INT0: lambda v: _is_int(v, 0),
    t.INT1: lambda v: _is_int(v, 1),
    t.AUTO_INT: lambda v: v == "auto" or _is_int(v, 1),
    t.URL: lambda v: bool(v.strip()),
    t.MEDIA: lambda v: bool(v.strip()),
    t.LANGUAGE: lambda v: _LANGUAGE.fullmatch(v) is not None,
    "twilio-voice": lambda v: (
        v in ("man", "woman", "alice")
        or _POLLY.fullmatch(v) is not None
        or _GOOGLE.fullmatch(v) is not None
    ),
    "plivo-voice": lambda v: v in ("MAN", "WOMAN") or _POLLY.fullmatch(v) is not None,
    t.DTMF: lambda v: _DTMF.fullmatch(v) is not None,
    t.KEY: lambda v: _KEY.fullmatch(v) is not None,
    t.KEYS: lambda v: _KEYS.fullmatch(v) is not None,
    t.PLIVO_KEY: lambda v: v == "none" or _KEY.fullmatch(v) is not None,
    t.PLIVO_KEYS: lambda v: v == "none" or _KEYS.fullmatch(v) is not None,
    t.PHONE: lambda v: bool(v.strip()) and len(v) <= 64,
    t.ANY: lambda v: True,
}


_VOCABULARIES: Final[dict[str, tuple[dict[str, t.Spec], dict[str, str]]]] = {
    t.TWILIO: ({**t.TWIML_ELEMENTS, **t.SSML}, t.TWIML_REFUSED),
    t.PLIVO: ({**t.PLIVO_ELEMENTS, **t.SSML}, t.PLIVO_REFUSED),
}


def _validate_tree(root: ET.Element, style: str) -> None:
    """Refuse the whole document up front if any part of it is unknown, invalid or refused."""
    vocabulary, refused = _VOCABULARIES[style]
    _validate(root, vocabulary["Response"], vocabulary, refused)


def _validate(
    element: ET.Element, spec: t.Spec, vocabulary: dict[str, t.Spec], refused: dict[str, str]
) -> None:
    tag = element.tag
    for name, value in element.attrib.items():
        kind = spec.attributes.get(name)
        if kind is None:
            raise DocumentError(f"unknown attribute {_name(name)} on <{_name(tag)}>")
        valid = value in kind if isinstance(kind, tuple) else _VALIDATORS[kind](value)
        if not valid:
            raise DocumentError(f"invalid value for {_name(name)} on <{_name(tag)}>")
    if spec.text == t.TEXT_NONE and (element.text or "").strip():
        raise DocumentError(f"unexpected text in <{_name(tag)}>")
    for child in element:
        if child.tag in refused:
            raise DocumentError(f"unsupported element <{child.tag}>: {refused[child.tag]}")
        child_spec = vocabulary.get(child.tag)
        if child_spec is None:
            raise DocumentError(f"unknown element <{_name(child.tag)}>")
        if child.tag not in spec.children:
            raise DocumentError(f"<{child.tag}> is not allowed in <{_name(tag)}>")
        if spec.text != t.TEXT_MIXED and (child.tail or "").strip():
            raise DocumentError(f"unexpected text in <{_name(tag)}>")
        _validate(child, child_spec, vocabulary, refused)


# --- translation context --------------------------------------------------------------------


class _Apology(Exception):
    """A Twilio queue verb: the whole answer becomes the configured apology and a hangup."""

    def __init__(self, verb: str) -> None:
        super().__init__(verb)
        self.verb = verb


class _Context:
    """What every handler needs: where the document came from, the URL mapper, the notes."""

    def __init__(
        self,
        source: str,
        document_url: str,
        mapper: UrlMapper,
        incoming: Mapping[str, str],
        options: Options,
    ) -> None:
        parts = urlsplit(document_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DocumentError("the document URL is not an absolute http(s) URL")
        self.source = source
        self.document_url = document_url
        self.mapper = mapper
        self.incoming = incoming
        self.options = options
        self.notes: list[Note] = []
        # Plivo → TwiML only: per top-level position, what later elements fold into a Dial.
        self.folds: dict[int, _DialFold] = {}
        self.folded: set[int] = set()
        self.outputs: dict[int, list[ET.Element]] = {}

    def note(self, element: str, attribute: str | None, action: str, detail: str) -> None:
        self.notes.append(Note(element, attribute, action, detail))

    def resolve(self, value: str, where: str) -> str:
        """``value`` made absolute against the document URL; only http(s) is accepted."""
        text = value.strip()
        if not text or _UNSAFE_URL_CHAR.search(text):
            raise DocumentError(f"invalid URL in {where}")
        url = urljoin(self.document_url, text)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DocumentError(f"URL in {where} is not http(s)")
        return url

    def route(
        self,
        value: str,
        *,
        kind: str,
        method: str,
        where: str,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """The URL to write for one the carrier will request: resolved, then mapped."""
        url = self.resolve(value, where)
        frozen = types.MappingProxyType(dict(extra or {}))
        return self.mapper(UrlRequest(url=url, method=method.upper(), kind=kind, extra=frozen))

    def route_attribute(
        self,
        a: _Attrs,
        name: str,
        value: str,
        *,
        method: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """Route the URL held by ``name`` (``tables.TEXT``: the element's text) of ``a``'s
        element, with the kind ``URL_ATTRIBUTES`` gives it and the method its element asks
        for (``method`` when the caller already took that attribute)."""
        kind, method_name = t.URL_ATTRIBUTES[(self.source, a.tag, name)]
        where = f"<{a.tag}>" if name == t.TEXT else f"{name} on <{a.tag}>"
        chosen = method or a.method(method_name)
        return self.route(value, kind=kind, method=chosen, where=where, extra=extra)

    def attrs(self, element: ET.Element) -> _Attrs:
        return _Attrs(self, element)


class _Attrs:
    """The attributes of one source element. A handler takes what it uses; ``finish`` notes
    everything left as dropped, so no attribute disappears without a note."""

    def __init__(self, ctx: _Context, element: ET.Element) -> None:
        self.ctx = ctx
        self.tag = element.tag
        self.values = dict(element.attrib)

    def take(self, name: str) -> str | None:
        return self.values.pop(name, None)

    def take_default(self, name: str) -> str:
        """The value, or the source dialect's default for it (written out explicitly)."""
        value = self.values.pop(name, None)
        return value if value is not None else _defaults(self.ctx.source, self.tag)[name]

    def peek(self, name: str) -> str | None:
        return self.values.get(name)

    def method(self, name: str | None) -> str:
        """The HTTP method the app expects for a URL (POST unless the element says)."""
        value = self.values.get(name) if name else None
        return (value or "POST").upper()

    def finish(self) -> None:
        for name in sorted(self.values):
            reason = t.DROPPED.get((self.ctx.source, self.tag, name), t.GENERIC_DROP)
            self.ctx.note(self.tag, name, DROPPED, reason)
        self.values.clear()


def _defaults(style: str, tag: str) -> dict[str, str]:
    table = t.TWIML_DEFAULTS if style == t.TWILIO else t.PLIVO_DEFAULTS
    return table.get(tag, {})


def _make(tag: str, attributes: Mapping[str, str | None], text: str | None = None) -> ET.Element:
    """An output element with its attributes in sorted order (deterministic output)."""
    element = ET.Element(tag)
    for name in sorted(attributes):
        value = attributes[name]
        if value is not None:
            element.set(name, value)
    if text is not None:
        element.text = text
    return element


def _serialize(children: list[ET.Element], options: Options) -> bytes:
    root = ET.Element("Response")
    root.extend(children)
    body = (DECLARATION + ET.tostring(root, encoding="unicode")).encode("utf-8")
    if len(body) > options.max_output_bytes:
        raise DocumentError("translated document is larger than the configured limit")
    return body


def _compact(children: list[ET.Element]) -> str:
    """A ``<Response>`` of ``children`` as compact text (the ``rest`` of a continue URL)."""
    root = ET.Element("Response")
    root.extend(children)
    return ET.tostring(root, encoding="unicode")


def _clamp(ctx: _Context, tag: str, name: str, value: str, target: str) -> str:
    """``value`` within the target dialect's limits for ``name``, noted when it had to move."""
    low, high = t.LIMITS[(target, tag, name)]
    number = int(value)
    clamped = min(max(number, low), high)
    if clamped != number:
        ctx.note(tag, name, CLAMPED, f"{number} is outside {low}..{high}: {clamped} is used")
    return str(clamped)


# --- values that need conversion ----------------------------------------------------------------

_PHONE_STRIP: Final = str.maketrans("", "", t.PHONE_PUNCTUATION)
_E164ISH = re.compile(r"\+?[0-9]{1,15}")
_PLIVO_DIGITS = re.compile(r"[0-9]{1,15}")
_SIP_USER = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _plivo_phone(value: str) -> str:
    """A TwiML number written the Plivo way (no ``+``, no formatting); other values as is."""
    compact = value.strip().translate(_PHONE_STRIP)
    if _E164ISH.fullmatch(compact):
        return compact.lstrip("+")
    return value.strip()


def _twilio_phone(value: str) -> str:
    """A Plivo number written the TwiML way (``+`` for full international numbers)."""
    text = value.strip()
    if _PLIVO_DIGITS.fullmatch(text) and len(text) >= t.E164_MIN_DIGITS:
        return "+" + text
    return text


def _twilio_digits(digits: str) -> str:
    """Digits to send, with Plivo's one-second ``W`` spelled as TwiML's two half-second ``w``."""
    for twiml, plivo in t.DIGIT_WAITS:
        if twiml != plivo:
            digits = digits.replace(plivo, twiml)
    return digits


def _finish_key(value: str, target: str) -> str:
    """A finishing key: TwiML's empty value is Plivo's ``none``."""
    for twiml, plivo in t.FINISH_KEY_NONE:
        if target == t.PLIVO and value == twiml:
            return plivo
        if target == t.TWILIO and value == plivo:
            return twiml
    return value


def _pair_value(twiml_element: str, twiml_attribute: str, value: str, target: str) -> str:
    """A value through ``VALUE_PAIRS`` (either direction); unlisted values pass unchanged."""
    pairs = t.VALUE_PAIRS.get((twiml_element, twiml_attribute), ())
    if target == t.PLIVO:
        one_way = t.ONE_WAY_TWIML_VALUES.get((twiml_element, twiml_attribute), {})
        return dict(pairs).get(value, one_way.get(value, value))
    return {plivo: twiml for twiml, plivo in pairs}.get(value, value)


def _rename(
    ctx: _Context,
    a: _Attrs,
    pair: tuple[str, str],
    out: dict[str, str | None],
    target: str,
) -> None:
    """Carry every attribute listed for ``pair`` (twiml element, plivo element) still present
    in ``a`` over to ``out`` under its other name, converting its value on the way."""
    rows = t.RENAMES[pair]
    sources = {(twiml if target == t.PLIVO else plivo) for twiml, plivo in rows}
    for twiml_name, plivo_name in rows:
        source, destination = (
            (twiml_name, plivo_name) if target == t.PLIVO else (plivo_name, twiml_name)
        )
        value = a.take(source)
        if value is None:
            continue
        kind = _VOCABULARIES[ctx.source][0][a.tag].attributes[source]
        route = t.URL_ATTRIBUTES.get((ctx.source, a.tag, source))
        if route is not None:
            method_name = route[1]
            method = a.method(method_name)
            if method_name is not None and method_name not in sources:
                a.take(method_name)  # used for the request; the target has no such attribute
            out[destination] = ctx.route_attribute(a, source, value, method=method)
        elif kind == t.METHOD:
            out[destination] = value.upper()
        elif kind == t.PHONE:
            out[destination] = _plivo_phone(value) if target == t.PLIVO else _twilio_phone(value)
        elif kind in (t.KEY, t.KEYS, t.PLIVO_KEY, t.PLIVO_KEYS):
            out[destination] = _finish_key(value, target)
        elif kind == t.DTMF and target == t.TWILIO:
            out[destination] = _twilio_digits(value)
        else:
            out[destination] = _pair_value(pair[0], twiml_name, value, target)


def _speech(source: ET.Element, target: ET.Element) -> None:
    """Copy spoken text and its SSML (the same in both dialects, already validated)."""
    target.text = source.text
    for child in source:
        target.append(copy.deepcopy(child))


# === TwiML → Plivo XML =========================================================================

_T2PHandler = Callable[[_Context, ET.Element], list[ET.Element]]


def _t2p_response(ctx: _Context, root: ET.Element) -> list[ET.Element]:
    if _is_twiml_messaging(ctx, root):
        return [out for child in root for out in _t2p_messaging(ctx, child)]
    out: list[ET.Element] = []
    for child in root:
        out.extend(_T2P[child.tag](ctx, child))
    return out


def _is_twiml_messaging(ctx: _Context, root: ET.Element) -> bool:
    """A messaging reply: it holds ``<Message>``, or it answers an incoming message."""
    has_message = any(child.tag == "Message" for child in root)
    answers_message = "CallSid" not in ctx.incoming and (
        "MessageSid" in ctx.incoming or "SmsSid" in ctx.incoming
    )
    if has_message and "CallSid" in ctx.incoming:
        raise DocumentError("<Message> is not a voice verb")
    messaging = has_message or answers_message
    if messaging and any(child.tag not in t.TWIML_MESSAGING_VERBS for child in root):
        raise DocumentError("a messaging reply holds only <Message> and <Redirect>")
    return messaging


def _t2p_say(ctx: _Context, say: ET.Element) -> list[ET.Element]:
    """``<Say>`` → ``<Speak>``; the voice is always written, since the defaults differ."""
    a = ctx.attrs(say)
    out: dict[str, str | None] = {}
    voice = a.take_default("voice")
    language = a.take("language")
    out["voice"], out["language"] = _plivo_voice(ctx, voice, language)
    _rename(ctx, a, ("Say", "Speak"), out, t.PLIVO)
    a.finish()
    speak = _make("Speak", out)
    _speech(say, speak)
    return [speak]


def _plivo_voice(ctx: _Context, voice: str, language: str | None) -> tuple[str, str | None]:
    """Plivo's voice (and language) for a TwiML voice; Google voices fall back (noted)."""
    google = _GOOGLE.fullmatch(voice)
    if google is None:
        return _pair_value("Say", "voice", voice, t.PLIVO), language
    spoken = language or google.group(1)
    fallback = ctx.options.voice_fallback
    chosen = fallback.get(spoken) or fallback.get(spoken.split("-")[0]) or ctx.options.default_voice
    ctx.note("Say", "voice", APPROXIMATED, f"Google voices are not on Plivo: {chosen} is used")
    return chosen, spoken


def _t2p_play(ctx: _Context, play: ET.Element) -> list[ET.Element]:
    a = ctx.attrs(play)
    digits = a.take("digits")
    loop = a.take("loop")
    url = (play.text or "").strip()
    out: list[ET.Element] = []
    if digits:
        out.append(_make("DTMF", {"async": "false"}, digits))
    if url:
        out.append(_make("Play", {"loop": loop}, ctx.resolve(url, "<Play>")))
    elif loop is not None:
        ctx.note("Play", "loop", DROPPED, "nothing to repeat: the digits are sent once")
    if not out:
        raise DocumentError("<Play> has neither a URL nor digits")
    a.finish()
    return out


def _t2p_pause(ctx: _Context, pause: ET.Element) -> list[ET.Element]:
    a = ctx.attrs(pause)
    out: dict[str, str | None] = {}
    _rename(ctx, a, ("Pause", "Wait"), out, t.PLIVO)
    a.finish()
    return [_make("Wait", out)]


_SPEECH_ONLY: Final = (
    "speechTimeout",
    "language",
    "hints",
    "profanityFilter",
    "speechModel",
    "partialResultCallback",
    "partialResultCallbackMethod",
)


def _t2p_gather(ctx: _Context, gather: ET.Element) -> list[ET.Element]:
    """``<Gather>`` → ``<GetDigits>`` (digits only) or ``<GetInput>`` (any speech). Without
    an action Twilio posts to the current document, so that URL is written explicitly."""
    a = ctx.attrs(gather)
    kind = _pair_value("Gather", "input", a.take_default("input"), t.PLIVO)
    target = "GetInput" if "speech" in kind else "GetDigits"
    out: dict[str, str | None] = {}
    action = a.take("action")
    out["action"] = ctx.route_attribute(a, "action", action or ctx.document_url)
    timeout = a.take("timeout")
    if target == "GetDigits":
        _t2p_digits_timeouts(ctx, a, out, timeout)
    else:
        out["inputType"] = kind
        _t2p_input_timeouts(ctx, a, out, timeout, "dtmf" in kind)
    _rename(ctx, a, ("Gather", target), out, t.PLIVO)
    a.finish()
    before, prompts = _t2p_prompts(ctx, gather, target)
    element = _make(target, out)
    element.extend(prompts)
    return [*before, element]


def _t2p_digits_timeouts(
    ctx: _Context, a: _Attrs, out: dict[str, str | None], timeout: str | None
) -> None:
    """Twilio's ``timeout`` also spaces the digits; Plivo's digitTimeout (2 s) is written to
    match, and speech-only attributes have nothing to apply to."""
    out["timeout"] = timeout
    out["digitTimeout"] = timeout or _defaults(t.TWILIO, "Gather")["timeout"]
    for name in _SPEECH_ONLY:
        if a.take(name) is not None:
            ctx.note("Gather", name, DROPPED, "applies to speech input only")


def _t2p_input_timeouts(
    ctx: _Context, a: _Attrs, out: dict[str, str | None], timeout: str | None, dtmf: bool
) -> None:
    """Twilio waits ``timeout`` for each input; GetInput bounds the total instead (section 7)."""
    seconds = timeout or _defaults(t.TWILIO, "Gather")["timeout"]
    total = str(max(int(seconds), t.GETINPUT_TOTAL_FLOOR))
    out["executionTimeout"] = _clamp(ctx, "GetInput", "executionTimeout", total, t.PLIVO)
    detail = f"executionTimeout={out['executionTimeout']}"
    if dtmf:
        out["digitEndTimeout"] = _clamp(ctx, "GetInput", "digitEndTimeout", seconds, t.PLIVO)
        detail += f", digitEndTimeout={out['digitEndTimeout']}"
    ctx.note("Gather", "timeout", APPROXIMATED, detail)
    speech_timeout = a.take("speechTimeout")
    if speech_timeout is not None and speech_timeout != "auto":
        speech_timeout = _clamp(ctx, "GetInput", "speechEndTimeout", speech_timeout, t.PLIVO)
    out["speechEndTimeout"] = speech_timeout
    model = a.take("speechModel")
    if model is not None:
        known = dict(t.VALUE_PAIRS[("Gather", "speechModel")])
        if model not in known:
            ctx.note("Gather", "speechModel", APPROXIMATED, "Plivo's default model is used")
        out["speechModel"] = known.get(model, t.SPEECH_MODEL_FALLBACK)


def _t2p_prompts(
    ctx: _Context, gather: ET.Element, target: str
) -> tuple[list[ET.Element], list[ET.Element]]:
    """A Gather's nested verbs: prompts stay inside; pauses and digits move before it."""
    before: list[ET.Element] = []
    inside: list[ET.Element] = []
    for child in gather:
        for out in _T2P[child.tag](ctx, child):
            if out.tag in ("Speak", "Play"):
                inside.append(out)
            else:
                ctx.note(child.tag, None, MOVED, f"not allowed in <{target}>: moved before it")
                before.append(out)
    return before, inside


def _t2p_record(ctx: _Context, record: ET.Element) -> list[ET.Element]:
    """``<Record>`` → ``<Record>`` with Twilio's timing written out (Plivo's defaults differ)
    and Twilio's implicit action (the current document) made explicit."""
    a = ctx.attrs(record)
    out: dict[str, str | None] = {}
    action = a.take("action")
    out["action"] = ctx.route_attribute(a, "action", action or ctx.document_url)
    for name in t.RECORD_EXPLICIT:
        value = a.take_default(name)
        if name == "maxLength":
            value = _clamp(ctx, "Record", name, value, t.PLIVO)
        out[name] = _finish_key(value, t.PLIVO) if name == "finishOnKey" else value
    transcribe = a.take("transcribe")
    if transcribe == "true" or a.peek("transcribeCallback") is not None:
        out["transcriptionType"] = "auto"
    if a.peek("trim") == "do-not-trim":
        a.take("trim")  # Plivo never trims: exactly what was asked
    _rename(ctx, a, ("Record", "Record"), out, t.PLIVO)
    a.finish()
    return [_make("Record", out)]


def _t2p_dial(ctx: _Context, dial: ET.Element) -> list[ET.Element]:
    """``<Dial>`` → ``<Dial>`` (preceded by a session ``<Record>`` when it records), or a
    top-level ``<Conference>`` when it dials a room. Twilio's 30 s ring timeout is written,
    since Plivo has no default."""
    nouns = list(dial)
    text = (dial.text or "").strip()
    if text and nouns:
        raise DocumentError("<Dial> holds both a number and nouns")
    if not text and not nouns:
        raise DocumentError("<Dial> has nothing to dial")
    rooms = [noun for noun in nouns if noun.tag in ("Conference", "Queue")]
    if rooms:
        if len(nouns) != 1:
            raise DocumentError("<Dial> mixes a conference or queue with other nouns")
        return _t2p_dial_room(ctx, dial, rooms[0])
    a = ctx.attrs(dial)
    out: dict[str, str | None] = {"timeout": a.take_default("timeout")}
    if a.take("ringTone") is not None:
        out["dialMusic"] = "real"
        ctx.note("Dial", "ringTone", APPROXIMATED, "Plivo plays the real ringback tone")
    before = _t2p_dial_recording(ctx, a)
    _rename(ctx, a, ("Dial", "Dial"), out, t.PLIVO)
    a.finish()
    targets = [_make("Number", {}, _t2p_number_text(text))] if text else []
    targets += _t2p_nouns(ctx, nouns, out)
    element = _make("Dial", out)
    element.extend(targets)
    return [*before, element]


def _t2p_dial_recording(ctx: _Context, a: _Attrs) -> list[ET.Element]:
    """Dial ``record`` → a background ``<Record>`` placed before the Dial (section 5)."""
    record = a.take("record")
    callback = a.take("recordingStatusCallback")
    method = a.method("recordingStatusCallbackMethod")
    explicit_method = a.take("recordingStatusCallbackMethod")
    value = t.DIAL_RECORDING_LEGACY.get(record or "", record)
    shapes = dict(t.DIAL_RECORDING)
    if value is None or value in t.DIAL_NO_RECORDING or value not in shapes:
        if callback is not None:
            ctx.note("Dial", "recordingStatusCallback", DROPPED, "the Dial does not record")
        return []
    on_answer, channels = shapes[value]
    if on_answer == "false":
        ctx.note("Dial", "record", APPROXIMATED, "recording starts before dialling, not at ring")
    attributes: dict[str, str | None] = {
        "recordSession": "true",
        "startOnDialAnswer": on_answer,
        "redirect": "false",
        "recordChannelType": channels,
        "maxLength": a.peek("timeLimit") or t.SESSION_RECORD_MAX_LENGTH,
    }
    if callback is not None:
        attributes["callbackUrl"] = ctx.route_attribute(
            a, "recordingStatusCallback", callback, method=method
        )
        attributes["callbackMethod"] = method if explicit_method is not None else None
    return [_make("Record", attributes)]


def _t2p_number_text(text: str) -> str:
    number = _plivo_phone(text)
    if not _PLIVO_DIGITS.fullmatch(number):
        raise DocumentError("<Dial> number is not a phone number")
    return number


def _t2p_nouns(
    ctx: _Context, nouns: list[ET.Element], dial: dict[str, str | None]
) -> list[ET.Element]:
    """Numbers, clients and SIP URIs; Plivo has one whisper and one status URL per Dial, so
    the first of each is used and any other noted."""
    out: list[ET.Element] = []
    for noun in nouns:
        a = ctx.attrs(noun)
        _t2p_per_dial(ctx, a, dial, "url", "confirmSound")
        _t2p_per_dial(ctx, a, dial, "statusCallback", "callbackUrl")
        out.append(_T2P_NOUNS[noun.tag](ctx, noun, a))
        a.finish()
    return out


def _t2p_per_dial(
    ctx: _Context, a: _Attrs, dial: dict[str, str | None], name: str, target: str
) -> None:
    value = a.take(name)
    method_name = "method" if name == "url" else "statusCallbackMethod"
    method = a.method(method_name)
    explicit_method = a.take(method_name)
    if value is None:
        return
    if target in dial:
        ctx.note(a.tag, name, DROPPED, f"Plivo has one {target} per Dial: the first is used")
        return
    dial[target] = ctx.route_attribute(a, name, value, method=method)
    if target == "callbackUrl" and explicit_method is not None:
        dial["callbackMethod"] = method


def _t2p_number(ctx: _Context, noun: ET.Element, a: _Attrs) -> ET.Element:
    out: dict[str, str | None] = {}
    _rename(ctx, a, ("Number", "Number"), out, t.PLIVO)
    return _make("Number", out, _t2p_number_text(noun.text or ""))


def _t2p_client(ctx: _Context, noun: ET.Element, a: _Attrs) -> ET.Element:
    identity = (noun.text or "").strip()
    for child in noun:
        if child.tag == "Identity":
            identity = (child.text or "").strip()
        else:
            ctx.note("Client", "Parameter", DROPPED, "Plivo endpoints take no parameters")
    endpoint = ctx.options.client_endpoints.get(identity, identity)
    if not _SIP_USER.fullmatch(endpoint):
        raise DocumentError("<Client> identity cannot be a Plivo endpoint")
    return _make("User", {}, f"sip:{endpoint}@{ctx.options.client_domain}")


def _t2p_sip(ctx: _Context, noun: ET.Element, a: _Attrs) -> ET.Element:
    uri = (noun.text or "").strip()
    if not uri.lower().startswith(("sip:", "sips:")):
        raise DocumentError("<Sip> does not hold a SIP URI")
    out: dict[str, str | None] = {}
    _rename(ctx, a, ("Sip", "User"), out, t.PLIVO)
    return _make("User", out, uri)


_T2P_NOUNS: Final[dict[str, Callable[[_Context, ET.Element, _Attrs], ET.Element]]] = {
    "Number": _t2p_number,
    "Client": _t2p_client,
    "Sip": _t2p_sip,
}


def _t2p_dial_room(ctx: _Context, dial: ET.Element, room: ET.Element) -> list[ET.Element]:
    """``<Dial><Conference>`` (or a queue mapped to a room) → a top-level ``<Conference>``;
    the Dial's action and limits move onto it."""
    out: dict[str, str | None] = {}
    if room.tag == "Queue":
        name = _queue_room(ctx, room, "Queue")
        q = ctx.attrs(room)
        q.finish()
    else:
        name = (room.text or "").strip()
        _t2p_conference_attributes(ctx, ctx.attrs(room), out)
    if not name:
        raise DocumentError("<Conference> has no room name")
    a = ctx.attrs(dial)
    _rename(ctx, a, ("Dial", "Conference"), out, t.PLIVO)
    a.finish()
    return [_make("Conference", out, name)]


def _t2p_conference_attributes(ctx: _Context, a: _Attrs, out: dict[str, str | None]) -> None:
    enter, leave = dict(t.CONFERENCE_BEEP)[a.take_default("beep")]
    out["enterSound"] = t.PLIVO_BEEP if enter else None
    out["exitSound"] = t.PLIVO_BEEP if leave else None
    members = a.take("maxParticipants")
    if members is not None:
        out["maxMembers"] = _clamp(ctx, "Conference", "maxMembers", members, t.PLIVO)
    _rename(ctx, a, ("Conference", "Conference"), out, t.PLIVO)
    a.finish()


def _queue_room(ctx: _Context, element: ET.Element, verb: str) -> str:
    """The conference room a queue is configured to become, else the apology."""
    room = ctx.options.queue_rooms.get((element.text or "").strip())
    if room is None:
        raise _Apology(verb)
    ctx.note(verb, None, APPROXIMATED, "the queue is served as a conference room")
    return room


def _t2p_enqueue(ctx: _Context, enqueue: ET.Element) -> list[ET.Element]:
    room = _queue_room(ctx, enqueue, "Enqueue")
    a = ctx.attrs(enqueue)
    out: dict[str, str | None] = {}
    action = a.take("action")
    if action is not None:
        out["action"] = ctx.route_attribute(a, "action", action)
        method = a.take("method")
        out["method"] = method.upper() if method is not None else None
    wait = a.take("waitUrl")
    if wait is not None:
        method = a.method("waitUrlMethod")
        a.take("waitUrlMethod")
        out["waitSound"] = ctx.route_attribute(a, "waitUrl", wait, method=method)
    a.finish()
    for child in enqueue:
        ctx.note("Enqueue", child.tag, DROPPED, "no task routing on Plivo")
    return [_make("Conference", out, room)]


def _t2p_leave(ctx: _Context, leave: ET.Element) -> list[ET.Element]:
    raise _Apology("Leave")


def _t2p_hangup(ctx: _Context, hangup: ET.Element) -> list[ET.Element]:
    return [_make("Hangup", {})]


def _t2p_reject(ctx: _Context, reject: ET.Element) -> list[ET.Element]:
    a = ctx.attrs(reject)
    out: dict[str, str | None] = {"reason": a.take_default("reason")}
    a.finish()
    return [_make("Hangup", out)]


def _t2p_redirect(ctx: _Context, redirect: ET.Element) -> list[ET.Element]:
    a = ctx.attrs(redirect)
    method = a.method("method")
    url = ctx.route_attribute(a, t.TEXT, redirect.text or "", method=method)
    out: dict[str, str | None] = {}
    _rename(ctx, a, ("Redirect", "Redirect"), out, t.PLIVO)
    a.finish()
    return [_make("Redirect", out, url)]


def _t2p_sms(ctx: _Context, sms: ET.Element) -> list[ET.Element]:
    """``<Sms>`` → ``<Message>``; its action (where Twilio goes after sending) becomes a
    ``<Redirect>`` after the message, which is what the call would do next."""
    a = ctx.attrs(sms)
    action = a.take("action")
    method = a.method("method")
    a.take("method")
    out = _t2p_addresses(ctx, a)
    _rename(ctx, a, ("Sms", "Message"), out, t.PLIVO)
    a.finish()
    body = sms.text or ""
    result = [_make("Message", out, body)]
    if action is not None:
        url = ctx.route_attribute(a, "action", action, method=method)
        result.append(_make("Redirect", {"method": method}, url))
        ctx.note("Sms", "action", APPROXIMATED, "followed by a <Redirect> to the action")
    return result


def _t2p_addresses(ctx: _Context, a: _Attrs) -> dict[str, str | None]:
    """Plivo needs ``src``/``dst`` written: explicit values win, else the reply goes back to
    the sender (incoming ``From``) from the number it wrote to (incoming ``To``)."""
    to = a.take("to") or ctx.incoming.get("From")
    sender = a.take("from") or ctx.incoming.get("To")
    if not to or not sender:
        raise DocumentError(f"<{a.tag}> has no addresses and the request gave none")
    return {"dst": _plivo_phone(to), "src": _plivo_phone(sender), "type": "sms"}


def _t2p_start(ctx: _Context, start: ET.Element) -> list[ET.Element]:
    """``<Start><Recording>`` → a background session ``<Record>``."""
    a = ctx.attrs(start)
    a.finish()
    out: list[ET.Element] = []
    for recording in start:
        r = ctx.attrs(recording)
        attributes: dict[str, str | None] = {
            "recordSession": "true",
            "redirect": "false",
            "maxLength": t.SESSION_RECORD_MAX_LENGTH,
            "recordChannelType": _pair_value(
                "Recording", "channels", r.take("channels") or "mono", t.PLIVO
            ),
        }
        if r.peek("track") == "both":
            r.take("track")
        _rename(ctx, r, ("Recording", "Record"), attributes, t.PLIVO)
        r.finish()
        out.append(_make("Record", attributes))
    return out


def _t2p_messaging(ctx: _Context, element: ET.Element) -> list[ET.Element]:
    if element.tag == "Redirect":
        raise DocumentError("a messaging <Redirect> has no Plivo equivalent")
    a = ctx.attrs(element)
    out = _t2p_addresses(ctx, a)
    if a.peek("action") is not None and a.take("statusCallback") is not None:
        ctx.note("Message", "statusCallback", DROPPED, "one status URL on Plivo: action is used")
    status = a.take("statusCallback")
    if status is not None:
        out["callbackUrl"] = ctx.route_attribute(a, "statusCallback", status)
    _rename(ctx, a, ("Message", "Message"), out, t.PLIVO)
    a.finish()
    body = element.text or ""
    for child in element:
        if child.tag == "Body":
            body = child.text or ""
        else:
            ctx.note("Message", "Media", DROPPED, "no media in Plivo XML: sent as text only")
    if not body.strip():
        ctx.note("Message", None, DROPPED, "nothing left to send as text")
        return []
    return [_make("Message", out, body)]


_T2P: Final[dict[str, _T2PHandler]] = {
    "Say": _t2p_say,
    "Play": _t2p_play,
    "Pause": _t2p_pause,
    "Gather": _t2p_gather,
    "Record": _t2p_record,
    "Dial": _t2p_dial,
    "Hangup": _t2p_hangup,
    "Reject": _t2p_reject,
    "Redirect": _t2p_redirect,
    "Sms": _t2p_sms,
    "Start": _t2p_start,
    "Enqueue": _t2p_enqueue,
    "Leave": _t2p_leave,
}


# === Plivo XML → TwiML =========================================================================


@dataclass
class _DialFold:
    """What earlier Plivo elements ask of a Dial: a scheduled hangup, a session recording."""

    time_limit: str | None = None
    recording: ET.Element | None = None


_P2THandler = Callable[[_Context, ET.Element, int], list[ET.Element]]


def _p2t_response(ctx: _Context, root: ET.Element) -> list[ET.Element]:
    elements = list(root)
    if _is_plivo_messaging(ctx, elements):
        return [out for element in elements for out in _p2t_message(ctx, element, messaging=True)]
    _plan_folds(ctx, elements)
    # Back to front, so that an element with redirect="false" can carry the TwiML that follows.
    for index in range(len(elements) - 1, -1, -1):
        ctx.outputs[index] = _P2T[elements[index].tag](ctx, elements[index], index)
    return [out for index in range(len(elements)) for out in ctx.outputs[index]]


def _is_plivo_messaging(ctx: _Context, elements: list[ET.Element]) -> bool:
    only_messages = bool(elements) and all(element.tag == "Message" for element in elements)
    answers_message = "MessageUUID" in ctx.incoming and "CallUUID" not in ctx.incoming
    if answers_message and not all(element.tag == "Message" for element in elements):
        raise DocumentError("a messaging reply holds only <Message>")
    return answers_message or (only_messages and "CallUUID" not in ctx.incoming)


def _plan_folds(ctx: _Context, elements: list[ET.Element]) -> None:
    """Find Plivo elements that TwiML expresses on a later Dial (section 7): a scheduled
    hangup right before a Dial becomes its ``timeLimit``; a recording that starts when a
    dialled party answers becomes the next Dial's ``record``."""
    for index, element in enumerate(elements):
        if element.tag == "Hangup" and "schedule" in element.attrib:
            if index + 1 < len(elements) and elements[index + 1].tag == "Dial":
                fold = ctx.folds.setdefault(index + 1, _DialFold())
                fold.time_limit = element.attrib["schedule"]
                ctx.folded.add(index)
        elif element.tag == "Record" and element.attrib.get("startOnDialAnswer") == "true":
            later = [i for i in range(index + 1, len(elements)) if elements[i].tag == "Dial"]
            if later:
                ctx.folds.setdefault(later[0], _DialFold()).recording = element
                ctx.folded.add(index)


def _p2t_rest(ctx: _Context, index: int) -> str:
    """The translated TwiML after top-level element ``index`` (already built: back to front)."""
    return _compact([out for i in sorted(ctx.outputs) if i > index for out in ctx.outputs[i]])


def _p2t_action(
    ctx: _Context,
    a: _Attrs,
    index: int,
    *,
    implicit_continue: bool,
    extra: Mapping[str, str] | None = None,
) -> str | None:
    """The TwiML action for a Plivo element: its own action when Plivo redirects to it, else
    a ``continue`` URL through which the proxy calls it (if any) and answers with the rest."""
    action = a.take("action")
    redirect = a.take("redirect") or "true"
    method = a.method("method")
    where = f"action on <{a.tag}>"
    if action is not None and redirect == "true":
        return ctx.route_attribute(a, "action", action, method=method, extra=extra)
    if action is None and not implicit_continue:
        return None
    payload = {
        "action": ctx.resolve(action, where) if action is not None else "",
        "method": method,
        "element": a.tag,
        "rest": _p2t_rest(ctx, index),
        **(extra or {}),
    }
    target = payload["action"] or ctx.document_url
    return ctx.route(target, kind=t.KIND_CONTINUE, method=method, where=where, extra=payload)


def _p2t_speak(ctx: _Context, speak: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(speak)
    out: dict[str, str | None] = {}
    voice = a.take_default("voice")
    out["voice"] = _pair_value("Say", "voice", voice, t.TWILIO)
    _rename(ctx, a, ("Say", "Speak"), out, t.TWILIO)
    a.finish()
    say = _make("Say", out)
    _speech(speak, say)
    return [say]


def _p2t_play(ctx: _Context, play: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(play)
    out: dict[str, str | None] = {}
    _rename(ctx, a, ("Play", "Play"), out, t.TWILIO)
    a.finish()
    return [_make("Play", out, ctx.resolve(play.text or "", "<Play>"))]


def _p2t_wait(ctx: _Context, wait: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(wait)
    detecting = a.take("silence") == "true", a.take("beep") == "true"
    if any(detecting):
        raise DocumentError("<Wait> with silence or beep detection has no TwiML equivalent")
    out: dict[str, str | None] = {}
    _rename(ctx, a, ("Pause", "Wait"), out, t.TWILIO)
    a.finish()
    return [_make("Pause", out)]


def _p2t_dtmf(ctx: _Context, dtmf: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(dtmf)
    if a.take_default("async") == "true":
        ctx.note("DTMF", "async", APPROXIMATED, "digits are sent before the next verb starts")
    a.finish()
    digits = _twilio_digits((dtmf.text or "").strip())
    if not _DTMF.fullmatch(digits):
        raise DocumentError("<DTMF> holds no digits")
    return [_make("Play", {"digits": digits})]


def _p2t_get_digits(ctx: _Context, element: ET.Element, index: int) -> list[ET.Element]:
    """``<GetDigits>`` → ``<Gather>``, repeated ``retries`` times: a Gather that hears nothing
    falls through to the next verb, which is then the next attempt."""
    a = ctx.attrs(element)
    retries = int(a.take_default("retries"))
    if retries > t.MAX_RETRIES:
        ctx.note("GetDigits", "retries", CLAMPED, f"unrolled {t.MAX_RETRIES} times at most")
        retries = t.MAX_RETRIES
    extra = _p2t_valid_digits(ctx, a)
    out: dict[str, str | None] = {}
    out["action"] = _p2t_action(ctx, a, index, implicit_continue=True, extra=extra)
    timeout = a.take("timeout")
    out["timeout"] = timeout
    digit_timeout = a.take("digitTimeout")
    if digit_timeout is not None and digit_timeout != (
        timeout or _defaults(t.PLIVO, "GetDigits")["timeout"]
    ):
        ctx.note(
            "GetDigits", "digitTimeout", DROPPED, t.DROPPED[(t.PLIVO, "GetDigits", "digitTimeout")]
        )
    _rename(ctx, a, ("Gather", "GetDigits"), out, t.TWILIO)
    a.finish()
    gather = _make("Gather", out)
    gather.extend(_p2t_prompts(ctx, element))
    if retries > 1:
        ctx.note("GetDigits", "retries", EXPANDED, f"unrolled into {retries} <Gather> verbs")
    return [gather] + [copy.deepcopy(gather) for _ in range(retries - 1)]


def _p2t_valid_digits(ctx: _Context, a: _Attrs) -> dict[str, str]:
    """validDigits has no TwiML form: it travels with the action for the proxy to enforce."""
    extra: dict[str, str] = {}
    valid = a.take("validDigits")
    if valid is not None:
        extra["validDigits"] = valid
        ctx.note("GetDigits", "validDigits", APPROXIMATED, "enforced when the action is called")
    sound = a.take("invalidDigitsSound")
    if sound is not None:
        extra["invalidDigitsSound"] = ctx.resolve(sound, "invalidDigitsSound on <GetDigits>")
    return extra


def _p2t_prompts(ctx: _Context, element: ET.Element) -> list[ET.Element]:
    return [out for child in element for out in _P2T[child.tag](ctx, child, 0)]


def _p2t_get_input(ctx: _Context, element: ET.Element, index: int) -> list[ET.Element]:
    """``<GetInput>`` → ``<Gather>``: the wait between digits is Twilio's ``timeout``; the
    total execution time has no TwiML form (noted when given)."""
    a = ctx.attrs(element)
    out: dict[str, str | None] = {}
    out["action"] = _p2t_action(ctx, a, index, implicit_continue=True)
    if a.peek("inputType") is None:
        raise DocumentError("<GetInput> has no inputType")
    digit_end = a.take("digitEndTimeout")
    if digit_end is not None and digit_end != "auto":
        out["timeout"] = digit_end
    _rename(ctx, a, ("Gather", "GetInput"), out, t.TWILIO)
    a.finish()
    gather = _make("Gather", out)
    gather.extend(_p2t_prompts(ctx, element))
    return [gather]


def _p2t_record(ctx: _Context, record: ET.Element, index: int) -> list[ET.Element]:
    """``<Record>`` → ``<Record>`` with Plivo's timing written out; a background recording
    becomes the next Dial's ``record`` (planned earlier) or ``<Start><Recording>``."""
    if index in ctx.folded:
        return []  # carried by the Dial it precedes
    a = ctx.attrs(record)
    if a.peek("startOnDialAnswer") == "true":
        ctx.note("Record", "startOnDialAnswer", DROPPED, "no Dial follows: nothing is recorded")
        return []
    if a.peek("recordSession") == "true":
        return [_p2t_session_recording(ctx, a)]
    out: dict[str, str | None] = {}
    out["action"] = _p2t_action(ctx, a, index, implicit_continue=True)
    for name in t.RECORD_EXPLICIT:
        value = a.take_default(name)
        if name == "maxLength":
            value = _clamp(ctx, "Record", name, value, t.TWILIO)
        out[name] = _finish_key(value, t.TWILIO) if name == "finishOnKey" else value
    transcription = a.take("transcriptionType")
    if transcription is not None:
        out["transcribe"] = "true"
        if transcription != "auto":
            ctx.note(
                "Record", "transcriptionType", APPROXIMATED, "Twilio transcribes automatically"
            )
    for name, quiet in (
        ("fileFormat", "mp3"),
        ("recordSession", "false"),
        ("startOnDialAnswer", "false"),
    ):
        if a.peek(name) == quiet:
            a.take(name)
    if a.peek("recordChannelType") == "mono":
        a.take("recordChannelType")
    _rename(ctx, a, ("Record", "Record"), out, t.TWILIO)
    a.take("transcriptionMethod")  # the method travels with the transcription URL's request
    a.finish()
    return [_make("Record", out)]


_SESSION_IGNORED: Final = ("timeout", "finishOnKey", "playBeep", "redirect", "recordSession")


def _p2t_recording_attributes(ctx: _Context, a: _Attrs) -> tuple[str, dict[str, str | None]]:
    """A Plivo session Record's channels and callback, in TwiML terms."""
    channels = a.take("recordChannelType") or "stereo"
    out: dict[str, str | None] = {}
    callback = a.take("callbackUrl")
    method = a.method("callbackMethod")
    explicit_method = a.take("callbackMethod")
    if callback is not None:
        out["recordingStatusCallback"] = ctx.route_attribute(
            a, "callbackUrl", callback, method=method
        )
        out["recordingStatusCallbackMethod"] = method if explicit_method is not None else None
    if a.take("action") is not None:
        ctx.note("Record", "action", DROPPED, "recording details arrive on the status callback")
    for name in _SESSION_IGNORED:
        a.take(name)  # Plivo ignores these for a session recording
    return channels, out


def _p2t_session_recording(ctx: _Context, a: _Attrs) -> ET.Element:
    """A Plivo background recording of the whole call → ``<Start><Recording>``."""
    channels, out = _p2t_recording_attributes(ctx, a)
    out["channels"] = _pair_value("Recording", "channels", channels, t.TWILIO)
    a.finish()
    start = _make("Start", {})
    start.append(_make("Recording", out))
    return start


def _p2t_dial(ctx: _Context, dial: ET.Element, index: int) -> list[ET.Element]:
    """``<Dial>`` → ``<Dial>``; Plivo's per-Dial whisper and status URLs go on every noun, and
    what earlier elements folded into this Dial (time limit, recording) is applied."""
    a = ctx.attrs(dial)
    out: dict[str, str | None] = {}
    out["action"] = _p2t_action(ctx, a, index, implicit_continue=False)
    noun_attributes = _p2t_per_dial(ctx, a)
    if a.peek("dialMusic") == "real":
        a.take("dialMusic")
    _rename(ctx, a, ("Dial", "Dial"), out, t.TWILIO)
    a.finish()
    fold = ctx.folds.get(index)
    if fold is not None:
        _p2t_apply_fold(ctx, fold, out)
    element = _make("Dial", out)
    element.extend([_p2t_noun(ctx, noun, noun_attributes) for noun in dial])
    if not len(element):
        raise DocumentError("<Dial> has nothing to dial")
    return [element]


def _p2t_per_dial(ctx: _Context, a: _Attrs) -> dict[str, str | None]:
    """Plivo's per-Dial whisper and status URLs, for each TwiML noun to carry."""
    out: dict[str, str | None] = {}
    whisper = a.take("confirmSound")
    if whisper is not None:
        out["url"] = ctx.route_attribute(a, "confirmSound", whisper)
    status = a.take("callbackUrl")
    method = a.method("callbackMethod")
    explicit_method = a.take("callbackMethod")
    if status is not None:
        out["statusCallback"] = ctx.route_attribute(a, "callbackUrl", status, method=method)
        out["statusCallbackMethod"] = method if explicit_method is not None else None
        out["statusCallbackEvent"] = t.DIAL_STATUS_EVENTS
        ctx.note("Dial", "callbackUrl", APPROXIMATED, "per-number answered/completed events")
    return out


def _p2t_apply_fold(ctx: _Context, fold: _DialFold, out: dict[str, str | None]) -> None:
    if fold.time_limit is not None:
        current = int(out.get("timeLimit") or _defaults(t.PLIVO, "Dial")["timeLimit"])
        out["timeLimit"] = str(min(current, int(fold.time_limit)))
        ctx.note("Hangup", "schedule", FOLDED, "the following Dial's timeLimit")
    if fold.recording is not None:
        r = ctx.attrs(fold.recording)
        on_answer = r.take("startOnDialAnswer") or "false"
        channels, attributes = _p2t_recording_attributes(ctx, r)
        r.take("maxLength")  # a Dial recording lasts the call
        r.finish()
        shapes = {shape: value for value, shape in t.DIAL_RECORDING}
        out["record"] = shapes[(on_answer, channels)]
        out.update(attributes)
        ctx.note("Record", None, FOLDED, "the following Dial's record attribute")


def _p2t_noun(ctx: _Context, noun: ET.Element, shared: Mapping[str, str | None]) -> ET.Element:
    a = ctx.attrs(noun)
    text = (noun.text or "").strip()
    out: dict[str, str | None] = dict(shared)
    if noun.tag == "Number":
        if not _E164ISH.fullmatch(text):
            raise DocumentError("<Number> is not a phone number")
        _rename(ctx, a, ("Number", "Number"), out, t.TWILIO)
        a.finish()
        return _make("Number", out, _twilio_phone(text))
    return _p2t_user(ctx, a, text, out)


def _p2t_user(ctx: _Context, a: _Attrs, uri: str, out: dict[str, str | None]) -> ET.Element:
    """A Plivo endpoint on the configured domain is a Twilio Client; any other URI is SIP."""
    match = re.fullmatch(r"sips?:([^@;?]+)@([^;?]+)", uri, flags=re.IGNORECASE)
    if not uri.lower().startswith(("sip:", "sips:")):
        raise DocumentError("<User> does not hold a SIP URI")
    if match is not None and match.group(2).lower() == ctx.options.client_domain.lower():
        endpoints = {
            endpoint: identity for identity, endpoint in ctx.options.client_endpoints.items()
        }
        a.finish()
        return _make("Client", out, endpoints.get(match.group(1), match.group(1)))
    _rename(ctx, a, ("Sip", "User"), out, t.TWILIO)
    a.finish()
    return _make("Sip", out, uri)


def _p2t_conference(ctx: _Context, conference: ET.Element, index: int) -> list[ET.Element]:
    """A top-level ``<Conference>`` → ``<Dial><Conference>``; action and limits go on the Dial."""
    a = ctx.attrs(conference)
    dial: dict[str, str | None] = {}
    dial["action"] = _p2t_action(ctx, a, index, implicit_continue=False)
    for name in ("method", "timeLimit", "hangupOnStar"):
        dial[name] = a.take(name)
    dial["method"] = dial["method"].upper() if dial["method"] else None
    out: dict[str, str | None] = {}
    enter = bool(a.take_default("enterSound"))
    leave = bool(a.take_default("exitSound"))
    for name in ("enterSound", "exitSound"):
        value = conference.get(name)
        if value and value != t.PLIVO_BEEP:
            ctx.note("Conference", name, APPROXIMATED, "played as Twilio's beep")
    out["beep"] = {shape: value for value, shape in t.CONFERENCE_BEEP}[(enter, leave)]
    members = a.take("maxMembers")
    if members is not None:
        out["maxParticipants"] = _clamp(ctx, "Conference", "maxParticipants", members, t.TWILIO)
    if a.peek("callbackUrl") is not None:
        out["statusCallbackEvent"] = t.CONFERENCE_STATUS_EVENTS
        ctx.note("Conference", "callbackUrl", APPROXIMATED, "join and leave events")
    _rename(ctx, a, ("Conference", "Conference"), out, t.TWILIO)
    a.finish()
    name = (conference.text or "").strip()
    if not name:
        raise DocumentError("<Conference> has no room name")
    element = _make("Dial", dial)
    element.append(_make("Conference", out, name))
    return [element]


def _p2t_hangup(ctx: _Context, hangup: ET.Element, index: int) -> list[ET.Element]:
    a = ctx.attrs(hangup)
    schedule = a.take("schedule")
    if schedule is not None:
        if index not in ctx.folded:
            ctx.note("Hangup", "schedule", DROPPED, "no Dial follows to carry a time limit")
        a.finish()
        return []
    reason = a.take("reason")
    a.finish()
    if reason is not None:
        return [_make("Reject", {"reason": reason})]
    return [_make("Hangup", {})]


def _p2t_redirect(ctx: _Context, redirect: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(redirect)
    method = a.method("method")
    url = ctx.route_attribute(a, t.TEXT, redirect.text or "", method=method)
    out: dict[str, str | None] = {}
    _rename(ctx, a, ("Redirect", "Redirect"), out, t.TWILIO)
    a.finish()
    return [_make("Redirect", out, url)]


def _p2t_message(ctx: _Context, message: ET.Element, messaging: bool) -> list[ET.Element]:
    """Plivo ``<Message>`` → a messaging ``<Message>`` or, inside a call, ``<Sms>``; Plivo's
    several destinations (``dst="a<b"``) become one message each."""
    a = ctx.attrs(message)
    a.take("type")  # validated: sms
    destinations = (a.take("dst") or "").split("<")
    sender = a.take("src")
    if sender is None or not all(d.strip() for d in destinations):
        raise DocumentError("<Message> needs src and dst")
    out: dict[str, str | None] = {"from": _twilio_phone(sender)}
    pair = ("Message", "Message") if messaging else ("Sms", "Message")
    if not messaging:
        url = a.take("callbackUrl")
        if url is not None:
            out["statusCallback"] = ctx.route_attribute(a, "callbackUrl", url)
        a.take("callbackMethod")
    _rename(ctx, a, pair, out, t.TWILIO)
    a.finish()
    tag = "Message" if messaging else "Sms"
    body = message.text or ""
    return [_make(tag, {**out, "to": _twilio_phone(d)}, body) for d in destinations]


def _p2t_voice_message(ctx: _Context, message: ET.Element, index: int) -> list[ET.Element]:
    return _p2t_message(ctx, message, messaging=False)


def _p2t_pre_answer(ctx: _Context, element: ET.Element, index: int) -> list[ET.Element]:
    ctx.note("PreAnswer", None, DROPPED, "TwiML plays nothing before the call is answered")
    return []


_P2T: Final[dict[str, _P2THandler]] = {
    "Speak": _p2t_speak,
    "Play": _p2t_play,
    "Wait": _p2t_wait,
    "DTMF": _p2t_dtmf,
    "GetDigits": _p2t_get_digits,
    "GetInput": _p2t_get_input,
    "Record": _p2t_record,
    "Dial": _p2t_dial,
    "Conference": _p2t_conference,
    "Hangup": _p2t_hangup,
    "Redirect": _p2t_redirect,
    "Message": _p2t_voice_message,
    "PreAnswer": _p2t_pre_answer,
}
