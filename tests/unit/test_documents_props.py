"""Property tests: documents from the loss-free subset survive TwiML → Plivo → TwiML (and
Plivo → TwiML → Plivo) unchanged, without a single note, and no URL escapes the mapper.

Equivalence: the same elements in the same order, the same text, and the same attributes once
each dialect's defaults are dropped (an attribute equal to its default says nothing), methods are
upper-cased and relative URLs resolved against the document's URL. The defaults are written out
here from the providers' references rather than imported, so a wrong table fails these tests.

The loss-free subset: Say/Speak (voice, language, loop), Play (loop), Pause/Wait (length),
Gather/GetDigits (action, method, numDigits, finishOnKey, timeout; nested Say/Play), Dial with
Number children (callerId, timeLimit, action), Hangup, Redirect. Two Plivo attributes are always
written in the Plivo-first direction because TwiML cannot leave them unsaid: GetDigits'
``digitTimeout`` equals its ``timeout`` (Twilio has one timeout for every digit) and Dial has a
``timeout`` (Plivo has no default; Twilio's is 30 s).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urljoin

import defusedxml.ElementTree as SafeET
from hypothesis import given, settings
from hypothesis import strategies as st
from plivo import plivoxml
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from proxy.providers.documents import DocumentError, UrlRequest, plivo_to_twiml, twiml_to_plivo

DOC_URL = "https://app.example.com/voice/answer"
PROXY = "https://proxy.example/cb?u="

TWIML_DEFAULTS = {
    "Say": {"voice": "man", "loop": "1", "language": "en-US"},
    "Play": {"loop": "1"},
    "Pause": {"length": "1"},
    "Gather": {"method": "POST", "timeout": "5", "finishOnKey": "#", "input": "dtmf"},
    "Dial": {"method": "POST", "timeout": "30", "timeLimit": "14400", "hangupOnStar": "false"},
    "Redirect": {"method": "POST"},
}
PLIVO_DEFAULTS = {
    "Speak": {"voice": "WOMAN", "loop": "1", "language": "en-US"},
    "Play": {"loop": "1"},
    "Wait": {"length": "1"},
    "GetDigits": {
        "method": "POST",
        "timeout": "5",
        "digitTimeout": "2",
        "finishOnKey": "#",
        "retries": "1",
        "redirect": "true",
    },
    "Dial": {"method": "POST", "timeLimit": "14400", "hangupOnStar": "false", "redirect": "true"},
    "Redirect": {"method": "POST"},
}
URL_ATTRIBUTES = {"action"}
URL_TEXT = {"Play", "Redirect"}


def identity(request: UrlRequest) -> str:
    return request.url


def normal(body: bytes, defaults: dict[str, dict[str, str]]) -> Any:
    """A document reduced to what it means (see the module notes)."""

    def node(element: ET.Element) -> Any:
        attributes = {}
        for name, value in element.attrib.items():
            if name == "method":
                value = value.upper()
            if name in URL_ATTRIBUTES:
                value = urljoin(DOC_URL, value)
            if defaults.get(element.tag, {}).get(name) != value:
                attributes[name] = value
        text = element.text or ""
        if element.tag in URL_TEXT and text.strip():
            text = urljoin(DOC_URL, text.strip())
        return (element.tag, attributes, text, [node(child) for child in element])

    return node(SafeET.fromstring(body))


# --- strategies -------------------------------------------------------------------------------

words = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")),
    min_size=1,
    max_size=30,
)
paths = st.from_regex(r"/?[a-z]{1,8}(/[a-z0-9]{1,8}){0,2}(\?[a-z]=[0-9]{1,3})?", fullmatch=True)
urls = st.one_of(paths, paths.map(lambda p: "https://app.example.com/" + p.lstrip("/")))
media = st.builds(lambda p: "https://cdn.example.com/" + p.lstrip("/") + ".mp3", paths)
methods = st.sampled_from([None, "GET", "POST"])
loops = st.one_of(st.none(), st.integers(0, 5))
languages = st.sampled_from([None, "en-US", "en-GB", "es-ES", "fr-FR"])
keys = st.sampled_from([None, "#", "*", "5", ""])
numbers = st.integers(2_000_000, 9_999_999).map(lambda n: f"1415{n}")


def maybe(value: Any) -> Any:
    return st.one_of(st.none(), value)


@st.composite
def twiml_say(draw: st.DrawFn, response: Any) -> None:
    response.say(
        draw(words),
        voice=draw(st.sampled_from([None, "man", "woman", "Polly.Joanna", "Polly.Matthew-Neural"])),
        language=draw(languages),
        loop=draw(loops),
    )


@st.composite
def twilio_document(draw: st.DrawFn) -> bytes:
    r = VoiceResponse()
    for verb in draw(
        st.lists(st.sampled_from(["say", "play", "pause", "gather", "dial"]), max_size=6)
    ):
        if verb == "say":
            draw(twiml_say(r))
        elif verb == "play":
            r.play(draw(media), loop=draw(loops))
        elif verb == "pause":
            r.pause(length=draw(maybe(st.integers(1, 10))))
        elif verb == "gather":
            g = Gather(
                action=draw(urls),
                method=draw(methods),
                num_digits=draw(maybe(st.integers(1, 10))),
                finish_on_key=draw(keys),
                timeout=draw(maybe(st.integers(1, 30))),
            )
            for prompt in draw(st.lists(st.sampled_from(["say", "play"]), max_size=3)):
                if prompt == "say":
                    draw(twiml_say(g))
                else:
                    g.play(draw(media), loop=draw(loops))
            r.append(g)
        else:
            d = Dial(
                action=draw(maybe(urls)),
                caller_id=draw(maybe(numbers.map(lambda n: "+" + n))),
                time_limit=draw(maybe(st.integers(1, 14400))),
            )
            for number in draw(st.lists(numbers, min_size=1, max_size=3)):
                d.number("+" + number)
            r.append(d)
    ending = draw(st.sampled_from(["none", "hangup", "redirect"]))
    if ending == "hangup":
        r.hangup()
    elif ending == "redirect":
        r.redirect(draw(urls), method=draw(methods))
    return str(r.to_xml()).encode()


@st.composite
def plivo_speak(draw: st.DrawFn) -> Any:
    return plivoxml.SpeakElement(
        draw(words),
        voice=draw(st.sampled_from([None, "MAN", "WOMAN", "Polly.Joanna"])),
        language=draw(languages),
        loop=draw(loops),
    )


@st.composite
def plivo_document(draw: st.DrawFn) -> bytes:
    r = plivoxml.ResponseElement()
    for verb in draw(
        st.lists(st.sampled_from(["speak", "play", "wait", "digits", "dial"]), max_size=6)
    ):
        if verb == "speak":
            r.add(draw(plivo_speak()))
        elif verb == "play":
            r.add(plivoxml.PlayElement(draw(media), loop=draw(loops)))
        elif verb == "wait":
            r.add(plivoxml.WaitElement(length=draw(maybe(st.integers(1, 10)))))
        elif verb == "digits":
            timeout = draw(st.integers(1, 30))
            g = plivoxml.GetDigitsElement(
                action=draw(urls),
                method=draw(methods),
                num_digits=draw(maybe(st.integers(1, 10))),
                finish_on_key=draw(st.sampled_from([None, "#", "*", "5", "none"])),
                timeout=timeout,
                digit_timeout=timeout,
            )
            for prompt in draw(st.lists(st.sampled_from(["speak", "play"]), max_size=3)):
                if prompt == "speak":
                    g.add(draw(plivo_speak()))
                else:
                    g.add(plivoxml.PlayElement(draw(media), loop=draw(loops)))
            r.add(g)
        else:
            d = plivoxml.DialElement(
                action=draw(maybe(urls)),
                caller_id=draw(maybe(numbers)),
                time_limit=draw(maybe(st.integers(1, 14400))),
                timeout=draw(st.integers(5, 120)),
            )
            for number in draw(st.lists(numbers, min_size=1, max_size=3)):
                d.add(plivoxml.NumberElement(number))
            r.add(d)
    ending = draw(st.sampled_from(["none", "hangup", "redirect"]))
    if ending == "hangup":
        r.add(plivoxml.HangupElement())
    elif ending == "redirect":
        r.add(plivoxml.RedirectElement(draw(urls), method=draw(methods)))
    return str(r.to_string(pretty=False)).encode()


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(twilio_document())
def test_twiml_round_trips_through_plivo_without_notes(doc: bytes) -> None:
    there = twiml_to_plivo(doc, document_url=DOC_URL, url_mapper=identity, incoming={})
    back = plivo_to_twiml(there.body, document_url=DOC_URL, url_mapper=identity, incoming={})
    assert there.notes == [] and back.notes == []
    assert normal(back.body, TWIML_DEFAULTS) == normal(doc, TWIML_DEFAULTS)


@settings(max_examples=150, deadline=None)
@given(plivo_document())
def test_plivo_round_trips_through_twiml_without_notes(doc: bytes) -> None:
    there = plivo_to_twiml(doc, document_url=DOC_URL, url_mapper=identity, incoming={})
    back = twiml_to_plivo(there.body, document_url=DOC_URL, url_mapper=identity, incoming={})
    assert there.notes == [] and back.notes == []
    assert normal(back.body, PLIVO_DEFAULTS) == normal(doc, PLIVO_DEFAULTS)


def proxied(request: UrlRequest) -> str:
    return PROXY + request.url


def requested_urls(body: bytes) -> list[str]:
    """Every URL in a document the carrier would request (not media it plays)."""
    root = SafeET.fromstring(body)
    found = [e.get("action") for e in root.iter() if e.get("action") is not None]
    found += [e.text or "" for e in root.iter("Redirect")]
    return [str(url) for url in found]


@settings(max_examples=100, deadline=None)
@given(twilio_document())
def test_every_requested_url_goes_through_the_mapper_twiml(doc: bytes) -> None:
    out = twiml_to_plivo(doc, document_url=DOC_URL, url_mapper=proxied, incoming={})
    assert all(url.startswith(PROXY) for url in requested_urls(out.body))
    assert len(requested_urls(out.body)) == len(requested_urls(doc)) + sum(
        1 for e in SafeET.fromstring(doc).iter("Gather") if e.get("action") is None
    )


@settings(max_examples=100, deadline=None)
@given(plivo_document())
def test_every_requested_url_goes_through_the_mapper_plivo(doc: bytes) -> None:
    out = plivo_to_twiml(doc, document_url=DOC_URL, url_mapper=proxied, incoming={})
    assert all(url.startswith(PROXY) for url in requested_urls(out.body))
    assert len(requested_urls(out.body)) == len(requested_urls(doc))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_translate_or_raise_document_error(data: bytes) -> None:
    for translate in (twiml_to_plivo, plivo_to_twiml):
        try:
            out = translate(data, document_url=DOC_URL, url_mapper=identity, incoming={})
        except DocumentError:
            continue
        assert SafeET.fromstring(out.body).tag == "Response"
