"""Call-control documents: TwiML ⇄ Plivo XML, one test per row of the webhook reference's
section 5 table and per behaviour of its section 7, plus hostile input and URL routing.

Documents going in are built with the SDKs' own builders (twilio.twiml, plivo.xml), as apps
build them; what comes out is parsed and compared element by element."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import defusedxml.ElementTree as SafeET
import pytest
from plivo import plivoxml
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import (
    Client,
    Conference,
    Dial,
    Gather,
    Number,
    Sip,
    Start,
    VoiceResponse,
)

from proxy.providers.documents import (
    DocumentError,
    Options,
    Translated,
    UrlRequest,
    hangup_document,
    plivo_to_twiml,
    twiml_to_plivo,
)

DOC_URL = "https://app.example.com/voice/answer"
APP = "https://app.example.com"

# A node of a parsed document: (tag, attributes, text or None, children).
Node = tuple[str, dict[str, str], str | None, list[Any]]


def E(tag: str, attrs: dict[str, str] | None = None, text: str | None = None, *kids: Node) -> Node:
    return (tag, attrs or {}, text, list(kids))


def tree(body: bytes) -> Node:
    """The translated document as nested tuples (whitespace-only text counts as none)."""
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')

    def node(element: ET.Element) -> Node:
        text = element.text if element.text and element.text.strip() else None
        return (element.tag, dict(element.attrib), text, [node(child) for child in element])

    return node(SafeET.fromstring(body))


def routed(url: str, kind: str) -> str:
    """What the recording mapper writes for a URL: readable in expectations."""
    return f"https://proxy.example/{kind}?u={quote(url, safe='')}"


class Mapper:
    """A UrlMapper that records every request."""

    def __init__(self) -> None:
        self.requests: list[UrlRequest] = []

    def __call__(self, request: UrlRequest) -> str:
        self.requests.append(request)
        return routed(request.url, request.kind)

    def by_kind(self, kind: str) -> list[UrlRequest]:
        return [r for r in self.requests if r.kind == kind]


def twilio_doc(response: VoiceResponse | MessagingResponse) -> bytes:
    return str(response.to_xml()).encode()


def plivo_doc(response: plivoxml.ResponseElement) -> bytes:
    return str(response.to_string(pretty=False)).encode()


def to_plivo(
    doc: bytes,
    mapper: Mapper | None = None,
    incoming: dict[str, str] | None = None,
    options: Options | None = None,
) -> Translated:
    return twiml_to_plivo(
        doc,
        document_url=DOC_URL,
        url_mapper=mapper or Mapper(),
        incoming=incoming or {},
        **({"options": options} if options else {}),
    )


def to_twiml(
    doc: bytes,
    mapper: Mapper | None = None,
    incoming: dict[str, str] | None = None,
    options: Options | None = None,
) -> Translated:
    return plivo_to_twiml(
        doc,
        document_url=DOC_URL,
        url_mapper=mapper or Mapper(),
        incoming=incoming or {},
        **({"options": options} if options else {}),
    )


def response(*kids: Node) -> Node:
    return E("Response", {}, None, *kids)


def noted(result: Translated, element: str, attribute: str | None, action: str) -> bool:
    return any(
        n.element == element and n.attribute == attribute and n.action == action
        for n in result.notes
    )


def voice(build: Callable[[VoiceResponse], object]) -> bytes:
    r = VoiceResponse()
    build(r)
    return twilio_doc(r)


def plivo(*elements: Any) -> bytes:
    r = plivoxml.ResponseElement()
    for element in elements:
        r.add(element)
    return plivo_doc(r)


# --- section 5, row by row: TwiML → Plivo, and back ----------------------------------------------


def test_empty_response_translates_to_empty_response_both_ways() -> None:
    assert tree(to_plivo(twilio_doc(VoiceResponse())).body) == response()
    assert tree(to_twiml(plivo()).body) == response()


@pytest.mark.parametrize(
    ("twilio_voice", "plivo_voice"),
    [("man", "MAN"), ("woman", "WOMAN"), ("alice", "WOMAN"), ("Polly.Joanna", "Polly.Joanna")],
)
def test_say_becomes_speak_with_mapped_voice(twilio_voice: str, plivo_voice: str) -> None:
    doc = voice(lambda r: r.say("Hello", voice=twilio_voice, language="en-GB", loop=2))
    out = to_plivo(doc)
    assert tree(out.body) == response(
        E("Speak", {"voice": plivo_voice, "language": "en-GB", "loop": "2"}, "Hello")
    )
    assert out.notes == []


def test_say_without_voice_keeps_twilios_default_voice() -> None:
    out = to_plivo(voice(lambda r: r.say("Hi")))
    assert tree(out.body) == response(E("Speak", {"voice": "MAN"}, "Hi"))


@pytest.mark.parametrize(
    ("plivo_voice", "twilio_voice"),
    [("MAN", "man"), ("WOMAN", "woman"), (None, "woman"), ("Polly.Brian", "Polly.Brian")],
)
def test_speak_becomes_say_with_mapped_voice(plivo_voice: str | None, twilio_voice: str) -> None:
    doc = plivo(plivoxml.SpeakElement("Hello", voice=plivo_voice, language="en-US", loop=0))
    assert tree(to_twiml(doc).body) == response(
        E("Say", {"voice": twilio_voice, "language": "en-US", "loop": "0"}, "Hello")
    )


def test_say_ssml_and_escaped_text_are_carried_over() -> None:
    r = VoiceResponse()
    say = r.say("Tom & <Jerry> ", voice="Polly.Joanna")
    say.break_(strength="strong", time="1s")
    say.prosody("slowly", rate="slow")
    say.lang("bonjour", xml_lang="fr-FR")
    out = to_plivo(twilio_doc(r))
    assert b"Tom &amp; &lt;Jerry&gt; " in out.body
    assert b'<lang xml:lang="fr-FR">bonjour</lang>' in out.body
    speak = tree(out.body)[3][0]
    assert [child[0] for child in speak[3]] == ["break", "prosody", "lang"]
    assert speak[3][1] == E("prosody", {"rate": "slow"}, "slowly")
    back = tree(to_twiml(out.body).body)
    assert back[3][0][3] == speak[3]


def test_play_keeps_loop_and_resolves_its_url_both_ways() -> None:
    out = to_plivo(voice(lambda r: r.play("media/hello.mp3", loop=3)))
    assert tree(out.body) == response(E("Play", {"loop": "3"}, f"{APP}/voice/media/hello.mp3"))
    doc = plivo(plivoxml.PlayElement("https://cdn.example.com/a.mp3", loop=0))
    assert tree(to_twiml(doc).body) == response(
        E("Play", {"loop": "0"}, "https://cdn.example.com/a.mp3")
    )


def test_media_urls_are_not_routed_through_the_mapper() -> None:
    mapper = Mapper()
    to_plivo(voice(lambda r: r.play("https://cdn.example.com/a.mp3")), mapper)
    assert mapper.requests == []


def test_play_digits_becomes_a_separate_dtmf() -> None:
    out = to_plivo(voice(lambda r: r.play(digits="1w2#")))
    assert tree(out.body) == response(E("DTMF", {"async": "false"}, "1w2#"))
    both = to_plivo(voice(lambda r: r.play("https://cdn.example.com/a.mp3", digits="9")))
    assert tree(both.body) == response(
        E("DTMF", {"async": "false"}, "9"), E("Play", {}, "https://cdn.example.com/a.mp3")
    )


def test_dtmf_becomes_play_digits_with_long_waits_spelled_twice() -> None:
    out = to_twiml(plivo(plivoxml.DTMFElement("12W3", async_=False)))
    assert tree(out.body) == response(E("Play", {"digits": "12ww3"}))
    assert out.notes == []
    background = to_twiml(plivo(plivoxml.DTMFElement("5")))
    assert noted(background, "DTMF", "async", "approximated")


def test_pause_and_wait_keep_length_both_ways() -> None:
    assert tree(to_plivo(voice(lambda r: r.pause(length=4))).body) == response(
        E("Wait", {"length": "4"})
    )
    assert tree(to_twiml(plivo(plivoxml.WaitElement(length=3))).body) == response(
        E("Pause", {"length": "3"})
    )


def test_dtmf_gather_becomes_get_digits() -> None:
    mapper = Mapper()
    doc = voice(
        lambda r: r.gather(
            action="/menu", method="GET", num_digits=2, finish_on_key="*", timeout=7, input="dtmf"
        )
    )
    out = to_plivo(doc, mapper)
    assert tree(out.body) == response(
        E(
            "GetDigits",
            {
                "action": routed(f"{APP}/menu", "action"),
                "method": "GET",
                "numDigits": "2",
                "finishOnKey": "*",
                "timeout": "7",
                "digitTimeout": "7",
            },
        )
    )
    assert mapper.requests == [UrlRequest(f"{APP}/menu", "GET", "action")]
    assert out.notes == []


def test_speech_gather_becomes_get_input() -> None:
    mapper = Mapper()
    doc = voice(
        lambda r: r.gather(
            input="dtmf speech",
            action="https://app.example.com/speech",
            speech_timeout="3",
            language="es-ES",
            hints="yes, no",
            profanity_filter=False,
            speech_model="numbers_and_commands",
            partial_result_callback="/partial",
            partial_result_callback_method="GET",
            finish_on_key="",
            num_digits=4,
        )
    )
    out = to_plivo(doc, mapper)
    assert tree(out.body) == response(
        E(
            "GetInput",
            {
                "action": routed(f"{APP}/speech", "action"),
                "inputType": "dtmf speech",
                "executionTimeout": "15",
                "digitEndTimeout": "5",
                "speechEndTimeout": "3",
                "language": "es-ES",
                "hints": "yes, no",
                "profanityFilter": "false",
                "speechModel": "command_and_search",
                "interimSpeechResultsCallback": routed(f"{APP}/partial", "partial-speech"),
                "interimSpeechResultsCallbackMethod": "GET",
                "finishOnKey": "none",
                "numDigits": "4",
            },
        )
    )
    assert mapper.by_kind("partial-speech") == [
        UrlRequest(f"{APP}/partial", "GET", "partial-speech")
    ]


def test_unknown_twilio_speech_model_falls_back_to_plivo_default() -> None:
    out = to_plivo(voice(lambda r: r.gather(input="speech", speech_model="googlev2_long")))
    assert tree(out.body)[3][0][1]["speechModel"] == "default"
    assert noted(out, "Gather", "speechModel", "approximated")


def test_get_digits_becomes_gather() -> None:
    doc = plivo(
        plivoxml.GetDigitsElement(
            action="https://app.example.com/menu",
            method="GET",
            num_digits=3,
            finish_on_key="none",
            timeout=9,
            digit_timeout=9,
        )
    )
    out = to_twiml(doc)
    assert tree(out.body) == response(
        E(
            "Gather",
            {
                "action": routed(f"{APP}/menu", "action"),
                "method": "GET",
                "numDigits": "3",
                "finishOnKey": "",
                "timeout": "9",
            },
        )
    )
    assert out.notes == []


def test_get_digits_other_digit_timeout_is_noted() -> None:
    doc = plivo(plivoxml.GetDigitsElement(action="/menu", digit_timeout=3))
    out = to_twiml(doc)
    assert "timeout" not in tree(out.body)[3][0][1]
    assert noted(out, "GetDigits", "digitTimeout", "dropped")


def test_get_input_becomes_gather() -> None:
    doc = plivo(
        plivoxml.GetInputElement(
            action="https://app.example.com/heard",
            input_type="speech",
            speech_end_timeout=4,
            language="en-GB",
            hints="sales,support",
            speech_model="phone_call",
            profanity_filter=True,
            interim_speech_results_callback="/partial",
            digit_end_timeout=6,
        )
    )
    out = to_twiml(doc)
    assert tree(out.body) == response(
        E(
            "Gather",
            {
                "action": routed(f"{APP}/heard", "action"),
                "input": "speech",
                "speechTimeout": "4",
                "language": "en-GB",
                "hints": "sales,support",
                "speechModel": "phone_call",
                "profanityFilter": "true",
                "partialResultCallback": routed(f"{APP}/partial", "partial-speech"),
                "timeout": "6",
            },
        )
    )


def test_get_input_command_model_maps_back() -> None:
    doc = plivo(
        plivoxml.GetInputElement(
            action="/a", input_type="dtmf speech", speech_model="command_and_search"
        )
    )
    gather = tree(to_twiml(doc).body)[3][0]
    assert gather[1]["speechModel"] == "numbers_and_commands"
    assert gather[1]["input"] == "dtmf speech"


def test_gather_nested_say_and_play_stay_inside() -> None:
    r = VoiceResponse()
    g = Gather(action="/menu")
    g.say("Press one", voice="woman")
    g.play("https://cdn.example.com/beep.mp3")
    r.append(g)
    assert tree(to_plivo(twilio_doc(r)).body) == response(
        E(
            "GetDigits",
            {"action": routed(f"{APP}/menu", "action"), "digitTimeout": "5"},
            None,
            E("Speak", {"voice": "WOMAN"}, "Press one"),
            E("Play", {}, "https://cdn.example.com/beep.mp3"),
        )
    )


def test_get_digits_nested_speak_play_wait_stay_inside() -> None:
    g = plivoxml.GetDigitsElement(action="/menu")
    g.add(plivoxml.SpeakElement("Press one", voice="MAN"))
    g.add(plivoxml.WaitElement(length=2))
    g.add(plivoxml.PlayElement("https://cdn.example.com/beep.mp3"))
    assert tree(to_twiml(plivo(g)).body) == response(
        E(
            "Gather",
            {"action": routed(f"{APP}/menu", "action")},
            None,
            E("Say", {"voice": "man"}, "Press one"),
            E("Pause", {"length": "2"}),
            E("Play", {}, "https://cdn.example.com/beep.mp3"),
        )
    )


def test_record_becomes_record_with_callbacks_and_transcription() -> None:
    mapper = Mapper()
    doc = voice(
        lambda r: r.record(
            action="/recorded",
            method="GET",
            timeout=10,
            max_length=120,
            play_beep=False,
            finish_on_key="#",
            recording_status_callback="/rec-status",
            recording_status_callback_method="GET",
            transcribe=True,
            transcribe_callback="/transcript",
            trim="do-not-trim",
        )
    )
    out = to_plivo(doc, mapper)
    assert tree(out.body) == response(
        E(
            "Record",
            {
                "action": routed(f"{APP}/recorded", "action"),
                "method": "GET",
                "timeout": "10",
                "maxLength": "120",
                "playBeep": "false",
                "finishOnKey": "#",
                "callbackUrl": routed(f"{APP}/rec-status", "recording-status"),
                "callbackMethod": "GET",
                "transcriptionType": "auto",
                "transcriptionUrl": routed(f"{APP}/transcript", "transcription"),
            },
        )
    )
    assert out.notes == []
    assert UrlRequest(f"{APP}/transcript", "POST", "transcription") in mapper.requests


def test_plivo_record_becomes_record_with_callbacks_and_transcription() -> None:
    doc = plivo(
        plivoxml.RecordElement(
            action="https://app.example.com/recorded",
            timeout=8,
            max_length=30,
            play_beep=False,
            finish_on_key="*",
            callback_url="/rec-status",
            callback_method="GET",
            transcription_type="auto",
            transcription_url="/transcript",
            transcription_method="GET",
        )
    )
    mapper = Mapper()
    out = to_twiml(doc, mapper)
    assert tree(out.body) == response(
        E(
            "Record",
            {
                "action": routed(f"{APP}/recorded", "action"),
                "timeout": "8",
                "maxLength": "30",
                "playBeep": "false",
                "finishOnKey": "*",
                "recordingStatusCallback": routed(f"{APP}/rec-status", "recording-status"),
                "recordingStatusCallbackMethod": "GET",
                "transcribe": "true",
                "transcribeCallback": routed(f"{APP}/transcript", "transcription"),
            },
        )
    )
    assert UrlRequest(f"{APP}/transcript", "GET", "transcription") in mapper.requests


def test_dial_becomes_dial() -> None:
    doc = voice(
        lambda r: r.dial(
            "+14155550100",
            action="/dialled",
            method="GET",
            timeout=20,
            time_limit=600,
            caller_id="+14155550199",
            hangup_on_star=True,
        )
    )
    assert tree(to_plivo(doc).body) == response(
        E(
            "Dial",
            {
                "action": routed(f"{APP}/dialled", "action"),
                "method": "GET",
                "timeout": "20",
                "timeLimit": "600",
                "callerId": "14155550199",
                "hangupOnStar": "true",
            },
            None,
            E("Number", {}, "14155550100"),
        )
    )


def test_dial_without_timeout_writes_twilios_30_seconds() -> None:
    dial = tree(to_plivo(voice(lambda r: r.dial("+14155550100"))).body)[3][0]
    assert dial[1] == {"timeout": "30"}


def test_dial_ring_tone_approximated_by_real_dial_music() -> None:
    out = to_plivo(voice(lambda r: r.dial("+14155550100", ring_tone="uk")))
    assert tree(out.body)[3][0][1]["dialMusic"] == "real"
    assert noted(out, "Dial", "ringTone", "approximated")


def test_plivo_dial_becomes_dial() -> None:
    d = plivoxml.DialElement(
        action="https://app.example.com/dialled",
        method="GET",
        timeout=25,
        time_limit=300,
        caller_id="14155550199",
        hangup_on_star=True,
        dial_music="real",
    )
    d.add(plivoxml.NumberElement("14155550100", send_digits="ww12"))
    assert tree(to_twiml(plivo(d)).body) == response(
        E(
            "Dial",
            {
                "action": routed(f"{APP}/dialled", "action"),
                "method": "GET",
                "timeout": "25",
                "timeLimit": "300",
                "callerId": "+14155550199",
                "hangupOnStar": "true",
            },
            None,
            E("Number", {"sendDigits": "ww12"}, "+14155550100"),
        )
    )


def test_text_inside_dial_becomes_a_number_without_plus_or_formatting() -> None:
    out = to_plivo(voice(lambda r: r.dial("+1 (415) 555-0100")))
    assert tree(out.body)[3][0][3] == [E("Number", {}, "14155550100")]


def test_number_send_digits_whisper_and_status_go_on_the_dial() -> None:
    mapper = Mapper()
    r = VoiceResponse()
    d = Dial()
    d.number(
        "+14155550100",
        send_digits="1w2",
        url="/whisper",
        method="GET",
        status_callback="/status",
        status_callback_method="GET",
    )
    r.append(d)
    out = to_plivo(twilio_doc(r), mapper)
    assert tree(out.body) == response(
        E(
            "Dial",
            {
                "timeout": "30",
                "confirmSound": routed(f"{APP}/whisper", "whisper"),
                "callbackUrl": routed(f"{APP}/status", "dial-status"),
                "callbackMethod": "GET",
            },
            None,
            E("Number", {"sendDigits": "1w2"}, "14155550100"),
        )
    )
    assert UrlRequest(f"{APP}/whisper", "GET", "whisper") in mapper.requests
    assert UrlRequest(f"{APP}/status", "GET", "dial-status") in mapper.requests


def test_plivo_dial_whisper_and_callback_go_on_every_noun() -> None:
    d = plivoxml.DialElement(
        confirm_sound="/whisper", callback_url="/events", callback_method="GET"
    )
    d.add(plivoxml.NumberElement("14155550100"))
    d.add(plivoxml.NumberElement("14155550101"))
    mapper = Mapper()
    out = to_twiml(plivo(d), mapper)
    per_noun = {
        "url": routed(f"{APP}/whisper", "whisper"),
        "statusCallback": routed(f"{APP}/events", "dial-status"),
        "statusCallbackMethod": "GET",
        "statusCallbackEvent": "answered completed",
    }
    assert tree(out.body) == response(
        E(
            "Dial",
            {},
            None,
            E("Number", per_noun, "+14155550100"),
            E("Number", per_noun, "+14155550101"),
        )
    )
    assert [r.kind for r in mapper.requests] == ["whisper", "dial-status"]
    assert UrlRequest(f"{APP}/whisper", "POST", "whisper") in mapper.requests


def test_client_becomes_user_on_the_configured_domain() -> None:
    r = VoiceResponse()
    d = Dial()
    d.client("alice")
    c = Client()
    c.identity("bob")
    d.append(c)
    r.append(d)
    options = Options(client_domain="example.sip.plivo.com", client_endpoints={"bob": "bob12345"})
    out = to_plivo(twilio_doc(r), options=options)
    assert tree(out.body)[3][0][3] == [
        E("User", {}, "sip:alice@example.sip.plivo.com"),
        E("User", {}, "sip:bob12345@example.sip.plivo.com"),
    ]


def test_client_identity_unfit_for_a_sip_uri_is_refused() -> None:
    r = VoiceResponse()
    d = Dial()
    d.client("eve@evil.example;x=1")
    r.append(d)
    with pytest.raises(DocumentError, match="Client"):
        to_plivo(twilio_doc(r))


def test_user_on_the_client_domain_becomes_client_else_sip() -> None:
    d = plivoxml.DialElement()
    d.add(plivoxml.UserElement("sip:bob12345@phone.plivo.com"))
    d.add(plivoxml.UserElement("sip:carol@pbx.example.com"))
    options = Options(client_endpoints={"bob": "bob12345"})
    assert tree(to_twiml(plivo(d), options=options).body)[3][0][3] == [
        E("Client", {}, "bob"),
        E("Sip", {}, "sip:carol@pbx.example.com"),
    ]


def test_sip_becomes_user_with_credentials_both_ways() -> None:
    r = VoiceResponse()
    d = Dial()
    d.append(Sip("sip:carol@pbx.example.com;transport=tls", username="u1", password="p1"))
    r.append(d)
    user = E(
        "User",
        {"sipAuthUsername": "u1", "sipAuthPassword": "p1"},
        "sip:carol@pbx.example.com;transport=tls",
    )
    out = to_plivo(twilio_doc(r))
    assert tree(out.body)[3][0][3] == [user]
    back = to_twiml(out.body)
    assert tree(back.body)[3][0][3] == [
        E("Sip", {"username": "u1", "password": "p1"}, "sip:carol@pbx.example.com;transport=tls")
    ]


def test_dial_conference_becomes_top_level_conference() -> None:
    mapper = Mapper()
    r = VoiceResponse()
    d = Dial(action="/after", method="GET", time_limit=900, hangup_on_star=True)
    d.conference(
        "room-1",
        muted=True,
        beep="onEnter",
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        wait_url="/hold",
        wait_method="GET",
        max_participants=10,
        record="record-from-start",
        status_callback="/conf",
        status_callback_method="GET",
    )
    r.append(d)
    out = to_plivo(twilio_doc(r), mapper)
    assert tree(out.body) == response(
        E(
            "Conference",
            {
                "action": routed(f"{APP}/after", "action"),
                "method": "GET",
                "timeLimit": "900",
                "hangupOnStar": "true",
                "muted": "true",
                "enterSound": "beep:1",
                "startConferenceOnEnter": "false",
                "endConferenceOnExit": "true",
                "waitSound": routed(f"{APP}/hold", "wait"),
                "maxMembers": "10",
                "record": "true",
                "callbackUrl": routed(f"{APP}/conf", "conference-status"),
                "callbackMethod": "GET",
            },
            "room-1",
        )
    )
    assert UrlRequest(f"{APP}/hold", "GET", "wait") in mapper.requests
    assert out.notes == []


@pytest.mark.parametrize(
    ("beep", "sounds"),
    [
        (None, {"enterSound": "beep:1", "exitSound": "beep:1"}),
        ("true", {"enterSound": "beep:1", "exitSound": "beep:1"}),
        ("onExit", {"exitSound": "beep:1"}),
        ("false", {}),
    ],
)
def test_conference_beep_becomes_enter_and_exit_sounds(
    beep: str | None, sounds: dict[str, str]
) -> None:
    r = VoiceResponse()
    d = Dial()
    d.conference("room", beep=beep)
    r.append(d)
    assert tree(to_plivo(twilio_doc(r)).body) == response(E("Conference", sounds, "room"))


def test_conference_becomes_dial_conference() -> None:
    conference = plivoxml.ConferenceElement(
        "room-2",
        muted=True,
        enter_sound="beep:1",
        start_conference_on_enter=True,
        end_conference_on_exit=False,
        wait_sound="/hold",
        max_members=5,
        record=True,
        time_limit=60,
        hangup_on_star=False,
        action="/after",
        method="GET",
        callback_url="/conf",
    )
    mapper = Mapper()
    out = to_twiml(plivo(conference), mapper)
    assert tree(out.body) == response(
        E(
            "Dial",
            {
                "action": routed(f"{APP}/after", "action"),
                "method": "GET",
                "timeLimit": "60",
                "hangupOnStar": "false",
            },
            None,
            E(
                "Conference",
                {
                    "muted": "true",
                    "beep": "onEnter",
                    "startConferenceOnEnter": "true",
                    "endConferenceOnExit": "false",
                    "waitUrl": routed(f"{APP}/hold", "wait"),
                    "maxParticipants": "5",
                    "record": "record-from-start",
                    "statusCallback": routed(f"{APP}/conf", "conference-status"),
                    "statusCallbackEvent": "join leave",
                },
                "room-2",
            ),
        )
    )
    assert UrlRequest(f"{APP}/hold", "POST", "wait") in mapper.requests


def test_conference_without_sounds_is_a_silent_twilio_conference() -> None:
    out = to_twiml(plivo(plivoxml.ConferenceElement("quiet")))
    assert tree(out.body) == response(
        E("Dial", {}, None, E("Conference", {"beep": "false"}, "quiet"))
    )


def test_hangup_is_hangup_both_ways() -> None:
    assert tree(to_plivo(voice(lambda r: r.hangup())).body) == response(E("Hangup"))
    assert tree(to_twiml(plivo(plivoxml.HangupElement())).body) == response(E("Hangup"))


@pytest.mark.parametrize(("reason", "written"), [(None, "rejected"), ("busy", "busy")])
def test_reject_becomes_hangup_with_reason(reason: str | None, written: str) -> None:
    out = to_plivo(voice(lambda r: r.reject(reason=reason)))
    assert tree(out.body) == response(E("Hangup", {"reason": written}))


def test_hangup_with_reason_becomes_reject() -> None:
    out = to_twiml(plivo(plivoxml.HangupElement(reason="busy")))
    assert tree(out.body) == response(E("Reject", {"reason": "busy"}))


def test_redirect_is_redirect_both_ways() -> None:
    mapper = Mapper()
    out = to_plivo(voice(lambda r: r.redirect("next", method="GET")), mapper)
    assert tree(out.body) == response(
        E("Redirect", {"method": "GET"}, routed(f"{APP}/voice/next", "redirect"))
    )
    assert mapper.requests == [UrlRequest(f"{APP}/voice/next", "GET", "redirect")]
    back = to_twiml(plivo(plivoxml.RedirectElement("https://other.example.com/x")))
    assert tree(back.body) == response(
        E("Redirect", {}, routed("https://other.example.com/x", "redirect"))
    )


def test_sms_becomes_message() -> None:
    mapper = Mapper()
    doc = voice(
        lambda r: r.sms(
            "Thanks!", to="+14155550100", from_="+14155550199", status_callback="/sms-status"
        )
    )
    out = to_plivo(doc, mapper)
    assert tree(out.body) == response(
        E(
            "Message",
            {
                "dst": "14155550100",
                "src": "14155550199",
                "type": "sms",
                "callbackUrl": routed(f"{APP}/sms-status", "message-status"),
            },
            "Thanks!",
        )
    )
    assert mapper.requests == [UrlRequest(f"{APP}/sms-status", "POST", "message-status")]


def test_sms_defaults_addresses_from_the_call_and_action_becomes_redirect() -> None:
    incoming = {"CallSid": "CA1", "From": "+14155550100", "To": "+14155550199"}
    out = to_plivo(voice(lambda r: r.sms("Hi", action="/sent")), incoming=incoming)
    assert tree(out.body) == response(
        E("Message", {"dst": "14155550100", "src": "14155550199", "type": "sms"}, "Hi"),
        E("Redirect", {"method": "POST"}, routed(f"{APP}/sent", "action")),
    )
    assert noted(out, "Sms", "action", "approximated")


def test_message_in_a_call_becomes_sms() -> None:
    doc = plivo(
        plivoxml.SpeakElement("Texting you"),
        plivoxml.MessageElement(
            "Hi", src="14155550199", dst="14155550100", type="sms", callback_url="/st"
        ),
    )
    out = to_twiml(doc, incoming={"CallUUID": "c1"})
    assert tree(out.body)[3][1] == E(
        "Sms",
        {
            "to": "+14155550100",
            "from": "+14155550199",
            "statusCallback": routed(f"{APP}/st", "message-status"),
        },
        "Hi",
    )


# --- messaging replies ---------------------------------------------------------------------------

SMS_IN = {"MessageSid": "SM1", "From": "+14155550100", "To": "+14155550199", "Body": "hi"}


def test_message_reply_takes_addresses_from_the_incoming_message() -> None:
    r = MessagingResponse()
    r.message("Hello back")
    out = to_plivo(twilio_doc(r), incoming=SMS_IN)
    assert tree(out.body) == response(
        E("Message", {"src": "14155550199", "dst": "14155550100", "type": "sms"}, "Hello back")
    )


def test_message_reply_explicit_addresses_win() -> None:
    r = MessagingResponse()
    r.message("Fwd", to="+447700900123", from_="+14155550111")
    out = to_plivo(twilio_doc(r), incoming=SMS_IN)
    assert tree(out.body)[3][0][1] == {"src": "14155550111", "dst": "447700900123", "type": "sms"}


def test_message_reply_without_addresses_anywhere_is_refused() -> None:
    r = MessagingResponse()
    r.message("Hello")
    with pytest.raises(DocumentError, match="addresses"):
        to_plivo(twilio_doc(r))


def test_message_body_child_becomes_text() -> None:
    r = MessagingResponse()
    m = r.message()
    m.body("From the body")
    assert tree(to_plivo(twilio_doc(r), incoming=SMS_IN).body)[3][0][2] == "From the body"


def test_message_media_has_no_xml_equivalent_and_is_noted() -> None:
    r = MessagingResponse()
    m = r.message("Look")
    m.media("https://cdn.example.com/cat.jpg")
    out = to_plivo(twilio_doc(r), incoming=SMS_IN)
    assert tree(out.body) == response(
        E("Message", {"src": "14155550199", "dst": "14155550100", "type": "sms"}, "Look")
    )
    assert noted(out, "Message", "Media", "dropped")
    media_only = MessagingResponse()
    media_only.message().media("https://cdn.example.com/cat.jpg")
    empty = to_plivo(twilio_doc(media_only), incoming=SMS_IN)
    assert tree(empty.body) == response()
    assert noted(empty, "Message", None, "dropped")


@pytest.mark.parametrize(
    ("attributes", "method"),
    [
        ({"action": "/status", "method": "GET"}, "GET"),
        ({"status_callback": "/status"}, None),
    ],
)
def test_message_action_or_status_callback_becomes_callback_url(
    attributes: dict[str, str], method: str | None
) -> None:
    r = MessagingResponse()
    r.message("Hi", **attributes)
    mapper = Mapper()
    out = to_plivo(twilio_doc(r), mapper, incoming=SMS_IN)
    message = tree(out.body)[3][0]
    assert message[1]["callbackUrl"] == routed(f"{APP}/status", "message-status")
    assert message[1].get("callbackMethod") == method
    assert mapper.requests == [UrlRequest(f"{APP}/status", method or "POST", "message-status")]


def test_messaging_redirect_has_no_plivo_equivalent() -> None:
    r = MessagingResponse()
    r.redirect("/more")
    with pytest.raises(DocumentError, match="Redirect"):
        to_plivo(twilio_doc(r), incoming=SMS_IN)


def test_empty_messaging_reply_stays_empty() -> None:
    assert tree(to_plivo(twilio_doc(MessagingResponse()), incoming=SMS_IN).body) == response()


def test_plivo_message_reply_becomes_twilio_message() -> None:
    doc = plivo(
        plivoxml.MessageElement(
            "Thanks",
            src="14155550199",
            dst="14155550100<447700900123",
            callback_url="/status",
            callback_method="GET",
        )
    )
    out = to_twiml(doc, incoming={"MessageUUID": "m1", "From": "14155550100"})
    attributes = {
        "from": "+14155550199",
        "action": routed(f"{APP}/status", "message-status"),
        "method": "GET",
    }
    assert tree(out.body) == response(
        E("Message", {**attributes, "to": "+14155550100"}, "Thanks"),
        E("Message", {**attributes, "to": "+447700900123"}, "Thanks"),
    )


def test_messaging_reply_with_voice_verbs_is_refused() -> None:
    with pytest.raises(DocumentError, match="messaging"):
        to_twiml(plivo(plivoxml.SpeakElement("hi")), incoming={"MessageUUID": "m1"})


# --- section 7: no-equivalent behaviours --------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "build"),
    [
        ("Enqueue", lambda r: r.enqueue("support")),
        ("Queue", lambda r: r.dial().queue("support")),
        ("Leave", lambda r: r.leave()),
    ],
)
def test_queue_verbs_answer_with_the_apology_and_hang_up(
    verb: str, build: Callable[[VoiceResponse], object]
) -> None:
    def document(r: VoiceResponse) -> None:
        r.say("Please hold")
        build(r)

    options = Options(apology="Sorry, no queues here.")
    out = to_plivo(voice(document), options=options)
    assert tree(out.body) == response(E("Speak", {}, "Sorry, no queues here."), E("Hangup"))
    assert [(n.element, n.action) for n in out.notes] == [(verb, "replaced")]


def test_queue_mapped_to_a_room_becomes_a_conference() -> None:
    options = Options(queue_rooms={"support": "support-room"})
    mapper = Mapper()
    doc = voice(lambda r: r.enqueue("support", action="/left", wait_url="/hold"))
    out = to_plivo(doc, mapper, options=options)
    assert tree(out.body) == response(
        E(
            "Conference",
            {
                "action": routed(f"{APP}/left", "action"),
                "waitSound": routed(f"{APP}/hold", "wait"),
            },
            "support-room",
        )
    )
    assert noted(out, "Enqueue", None, "approximated")


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("Pay", lambda r: r.pay()),
        ("Echo", lambda r: r.echo()),
        ("Refer", lambda r: r.refer().sip("sip:x@example.com")),
        ("Siprec", lambda r: r.start().siprec(name="s")),
        ("Transcription", lambda r: r.start().transcription()),
        ("Connect", lambda r: r.connect().stream(url="wss://example.com/s")),
        ("Stream", lambda r: r.start().stream(url="wss://example.com/s")),
        ("Application", lambda r: r.dial().application("AP123")),
        ("Sim", lambda r: r.dial().sim("DE123")),
    ],
)
def test_twiml_verbs_without_equivalent_are_refused_by_name(
    name: str, build: Callable[[VoiceResponse], object]
) -> None:
    with pytest.raises(DocumentError, match=f"<{name}>"):
        to_plivo(voice(build))


def test_multi_party_call_is_refused() -> None:
    doc = b"<Response><MultiPartyCall role='Agent'>room</MultiPartyCall></Response>"
    with pytest.raises(DocumentError, match="<MultiPartyCall>"):
        to_twiml(doc)


def test_plivo_stream_is_refused() -> None:
    with pytest.raises(DocumentError, match="<Stream>"):
        to_twiml(b"<Response><Stream>wss://example.com/s</Stream></Response>")


@pytest.mark.parametrize(
    "attribute", ["actionOnEmptyResult", "bargeIn", "maxSpeechTime", "enhanced", "debug"]
)
def test_gather_attributes_without_equivalent_are_dropped_and_noted(attribute: str) -> None:
    value = "30" if attribute == "maxSpeechTime" else "true"
    doc = f'<Response><Gather input="speech" action="/a" {attribute}="{value}"/></Response>'
    out = to_plivo(doc.encode())
    assert attribute not in tree(out.body)[3][0][1]
    assert noted(out, "Gather", attribute, "dropped")


def test_gather_without_action_posts_to_the_current_document() -> None:
    mapper = Mapper()
    out = to_plivo(voice(lambda r: r.gather(num_digits=1)), mapper)
    assert tree(out.body)[3][0][1]["action"] == routed(DOC_URL, "action")
    assert mapper.requests == [UrlRequest(DOC_URL, "POST", "action")]


def test_gather_without_action_keeps_its_method() -> None:
    mapper = Mapper()
    to_plivo(voice(lambda r: r.gather(method="GET")), mapper)
    assert mapper.requests == [UrlRequest(DOC_URL, "GET", "action")]


def test_gather_timeout_becomes_get_digits_timeout() -> None:
    out = to_plivo(voice(lambda r: r.gather(action="/a", timeout=12)))
    attributes = tree(out.body)[3][0][1]
    assert (attributes["timeout"], attributes["digitTimeout"]) == ("12", "12")
    assert out.notes == []


@pytest.mark.parametrize(
    ("timeout", "execution", "digit_end"),
    [(None, "15", "5"), ("3", "15", "3"), ("1", "15", "2"), ("30", "30", "10"), ("90", "60", "10")],
)
def test_gather_timeout_becomes_get_input_total_and_digit_end(
    timeout: str | None, execution: str, digit_end: str
) -> None:
    attribute = f' timeout="{timeout}"' if timeout else ""
    doc = f'<Response><Gather input="dtmf speech" action="/a"{attribute}/></Response>'
    out = to_plivo(doc.encode())
    attributes = tree(out.body)[3][0][1]
    assert (attributes["executionTimeout"], attributes["digitEndTimeout"]) == (execution, digit_end)
    assert noted(out, "Gather", "timeout", "approximated")


def test_speech_only_gather_has_no_digit_end_timeout() -> None:
    out = to_plivo(voice(lambda r: r.gather(input="speech", action="/a", timeout=4)))
    assert "digitEndTimeout" not in tree(out.body)[3][0][1]


def test_pause_inside_gather_moves_before_it() -> None:
    r = VoiceResponse()
    g = Gather(action="/a")
    g.say("One")
    g.pause(length=2)
    g.say("Two")
    r.append(g)
    out = to_plivo(twilio_doc(r))
    assert tree(out.body) == response(
        E("Wait", {"length": "2"}),
        E(
            "GetDigits",
            {"action": routed(f"{APP}/a", "action"), "digitTimeout": "5"},
            None,
            E("Speak", {"voice": "MAN"}, "One"),
            E("Speak", {"voice": "MAN"}, "Two"),
        ),
    )
    assert noted(out, "Pause", None, "moved")


def test_record_defaults_of_twilio_are_written_for_plivo() -> None:
    out = to_plivo(voice(lambda r: r.record(action="/r")))
    assert tree(out.body) == response(
        E(
            "Record",
            {
                "action": routed(f"{APP}/r", "action"),
                "timeout": "5",
                "maxLength": "3600",
                "finishOnKey": "1234567890*#",
                "playBeep": "true",
            },
        )
    )


def test_record_defaults_of_plivo_are_written_for_twilio() -> None:
    out = to_twiml(plivo(plivoxml.RecordElement(action="/r")))
    assert tree(out.body) == response(
        E(
            "Record",
            {
                "action": routed(f"{APP}/r", "action"),
                "timeout": "15",
                "maxLength": "60",
                "finishOnKey": "#",
                "playBeep": "true",
            },
        )
    )


def test_record_without_action_posts_to_the_current_document() -> None:
    mapper = Mapper()
    to_plivo(voice(lambda r: r.record()), mapper)
    assert mapper.requests == [UrlRequest(DOC_URL, "POST", "action")]


def test_record_max_length_is_clamped_to_the_targets_limit() -> None:
    out = to_plivo(voice(lambda r: r.record(action="/r", max_length=86400)))
    assert tree(out.body)[3][0][1]["maxLength"] == "14400"
    assert noted(out, "Record", "maxLength", "clamped")
    back = to_twiml(plivo(plivoxml.RecordElement(action="/r", max_length=20000)))
    assert tree(back.body)[3][0][1]["maxLength"] == "14400"
    assert noted(back, "Record", "maxLength", "clamped")


@pytest.mark.parametrize(
    ("record", "on_answer", "channels"),
    [
        ("record-from-answer", "true", "mono"),
        ("record-from-answer-dual", "true", "stereo"),
        ("true", "true", "mono"),
        ("record-from-ringing", "false", "mono"),
    ],
)
def test_dial_record_becomes_a_session_record_before_the_dial(
    record: str, on_answer: str, channels: str
) -> None:
    mapper = Mapper()
    doc = voice(
        lambda r: r.dial(
            "+14155550100",
            record=record,
            time_limit=1200,
            recording_status_callback="/rec",
            recording_status_callback_method="GET",
        )
    )
    out = to_plivo(doc, mapper)
    assert tree(out.body) == response(
        E(
            "Record",
            {
                "recordSession": "true",
                "startOnDialAnswer": on_answer,
                "redirect": "false",
                "recordChannelType": channels,
                "maxLength": "1200",
                "callbackUrl": routed(f"{APP}/rec", "recording-status"),
                "callbackMethod": "GET",
            },
        ),
        E(
            "Dial",
            {"timeout": "30", "timeLimit": "1200"},
            None,
            E("Number", {}, "14155550100"),
        ),
    )
    assert UrlRequest(f"{APP}/rec", "GET", "recording-status") in mapper.requests


def test_session_record_before_a_dial_folds_back_into_dial_record() -> None:
    doc = plivo(
        plivoxml.RecordElement(
            record_session=True,
            start_on_dial_answer=True,
            redirect=False,
            record_channel_type="mono",
            callback_url="/rec",
        ),
        plivoxml.SpeakElement("Connecting"),
        plivoxml.DialElement().add(plivoxml.NumberElement("14155550100")),
    )
    out = to_twiml(doc)
    assert tree(out.body) == response(
        E("Say", {"voice": "woman"}, "Connecting"),
        E(
            "Dial",
            {
                "record": "record-from-answer",
                "recordingStatusCallback": routed(f"{APP}/rec", "recording-status"),
            },
            None,
            E("Number", {}, "+14155550100"),
        ),
    )
    assert noted(out, "Record", None, "folded")


def test_session_record_without_a_dial_records_nothing_and_is_noted() -> None:
    out = to_twiml(plivo(plivoxml.RecordElement(start_on_dial_answer=True)))
    assert tree(out.body) == response()
    assert noted(out, "Record", "startOnDialAnswer", "dropped")


def test_start_recording_and_whole_call_session_record_both_ways() -> None:
    r = VoiceResponse()
    s = Start()
    s.recording(recording_status_callback="/rec", channels="dual", track="both")
    r.append(s)
    out = to_plivo(twilio_doc(r))
    record = E(
        "Record",
        {
            "recordSession": "true",
            "redirect": "false",
            "maxLength": "14400",
            "recordChannelType": "stereo",
            "callbackUrl": routed(f"{APP}/rec", "recording-status"),
        },
    )
    assert tree(out.body) == response(record)
    session = plivo(plivoxml.RecordElement(record_session=True, callback_url="/rec"))
    assert tree(to_twiml(session).body) == response(
        E(
            "Start",
            {},
            None,
            E(
                "Recording",
                {
                    "channels": "dual",
                    "recordingStatusCallback": routed(f"{APP}/rec", "recording-status"),
                },
            ),
        )
    )


@pytest.mark.parametrize(
    "attribute",
    ["answerOnBridge", "sequential", "trim", "referUrl", "referMethod", "events"],
)
def test_dial_attributes_without_equivalent_are_dropped_and_noted(attribute: str) -> None:
    value = {"trim": "trim-silence", "referUrl": "/refer", "referMethod": "GET", "events": "x"}
    doc = (
        f'<Response><Dial {attribute}="{value.get(attribute, "true")}">'
        "+14155550100</Dial></Response>"
    )
    out = to_plivo(doc.encode())
    assert attribute not in tree(out.body)[3][0][1]
    assert noted(out, "Dial", attribute, "dropped")


def test_answering_machine_detection_on_number_is_dropped_and_noted() -> None:
    r = VoiceResponse()
    d = Dial()
    d.append(Number("+14155550100", machine_detection="Enable", machine_detection_timeout=10))
    r.append(d)
    out = to_plivo(twilio_doc(r))
    assert tree(out.body)[3][0][3] == [E("Number", {}, "14155550100")]
    assert noted(out, "Number", "machineDetection", "dropped")
    assert noted(out, "Number", "machineDetectionTimeout", "dropped")


def test_several_numbers_with_callbacks_use_the_first_and_note_the_rest() -> None:
    mapper = Mapper()
    r = VoiceResponse()
    d = Dial()
    d.number("+14155550100", url="/w1", status_callback="/s1")
    d.number("+14155550101", url="/w2", status_callback="/s2")
    d.number("+14155550102")
    r.append(d)
    out = to_plivo(twilio_doc(r), mapper)
    dial = tree(out.body)[3][0]
    assert dial[1]["confirmSound"] == routed(f"{APP}/w1", "whisper")
    assert dial[1]["callbackUrl"] == routed(f"{APP}/s1", "dial-status")
    assert noted(out, "Number", "url", "dropped")
    assert noted(out, "Number", "statusCallback", "dropped")
    assert {r.url for r in mapper.requests} == {f"{APP}/w1", f"{APP}/s1"}


@pytest.mark.parametrize("attribute", ["coach", "region", "participantLabel"])
def test_conference_attributes_without_equivalent_are_dropped_and_noted(attribute: str) -> None:
    r = VoiceResponse()
    d = Dial()
    d.append(Conference("room", **{attribute: "x"}))
    r.append(d)
    out = to_plivo(twilio_doc(r))
    assert attribute not in tree(out.body)[3][0][1]
    assert noted(out, "Conference", attribute, "dropped")


def test_conference_max_participants_is_clamped_to_plivos_20() -> None:
    r = VoiceResponse()
    d = Dial()
    d.conference("room", max_participants=100)
    r.append(d)
    out = to_plivo(twilio_doc(r))
    assert tree(out.body)[3][0][1]["maxMembers"] == "20"
    assert noted(out, "Conference", "maxMembers", "clamped")


def test_google_voice_falls_back_to_the_configured_voice() -> None:
    options = Options(voice_fallback={"en-GB": "Polly.Amy"})
    out = to_plivo(voice(lambda r: r.say("Hi", voice="Google.en-GB-Standard-A")), options=options)
    assert tree(out.body) == response(E("Speak", {"voice": "Polly.Amy", "language": "en-GB"}, "Hi"))
    assert noted(out, "Say", "voice", "approximated")
    default = to_plivo(voice(lambda r: r.say("Hi", voice="Google.fr-FR-Wavenet-B")))
    assert tree(default.body)[3][0][1] == {"voice": "WOMAN", "language": "fr-FR"}


def test_pre_answer_is_dropped_and_noted() -> None:
    pre = plivoxml.PreAnswerElement()
    pre.add(plivoxml.SpeakElement("Early media"))
    out = to_twiml(plivo(pre, plivoxml.SpeakElement("Answered")))
    assert tree(out.body) == response(E("Say", {"voice": "woman"}, "Answered"))
    assert noted(out, "PreAnswer", None, "dropped")


def test_get_digits_retries_become_copies_of_the_gather() -> None:
    g = plivoxml.GetDigitsElement(action="/menu", retries=3, num_digits=1)
    g.add(plivoxml.SpeakElement("Press a key"))
    out = to_twiml(plivo(g, plivoxml.SpeakElement("Goodbye")))
    gather = E(
        "Gather",
        {"action": routed(f"{APP}/menu", "action"), "numDigits": "1"},
        None,
        E("Say", {"voice": "woman"}, "Press a key"),
    )
    assert tree(out.body) == response(
        gather, gather, gather, E("Say", {"voice": "woman"}, "Goodbye")
    )
    assert noted(out, "GetDigits", "retries", "expanded")


def test_get_digits_valid_digits_travel_with_the_action() -> None:
    mapper = Mapper()
    doc = plivo(
        plivoxml.GetDigitsElement(
            action="/menu", valid_digits="12", invalid_digits_sound="sounds/no.mp3"
        )
    )
    out = to_twiml(doc, mapper)
    assert mapper.requests == [
        UrlRequest(
            f"{APP}/menu",
            "POST",
            "action",
            {"validDigits": "12", "invalidDigitsSound": f"{APP}/voice/sounds/no.mp3"},
        )
    ]
    assert noted(out, "GetDigits", "validDigits", "approximated")


def test_scheduled_hangup_before_a_dial_becomes_its_time_limit() -> None:
    d = plivoxml.DialElement(time_limit=600)
    d.add(plivoxml.NumberElement("14155550100"))
    out = to_twiml(plivo(plivoxml.HangupElement(schedule=120), d))
    assert tree(out.body) == response(
        E("Dial", {"timeLimit": "120"}, None, E("Number", {}, "+14155550100"))
    )
    assert noted(out, "Hangup", "schedule", "folded")


def test_scheduled_hangup_elsewhere_is_dropped_and_noted() -> None:
    out = to_twiml(plivo(plivoxml.HangupElement(schedule=60), plivoxml.SpeakElement("Hi")))
    assert tree(out.body) == response(E("Say", {"voice": "woman"}, "Hi"))
    assert noted(out, "Hangup", "schedule", "dropped")


def test_plain_wait_becomes_pause_but_detecting_waits_are_refused() -> None:
    plain = to_twiml(plivo(plivoxml.WaitElement(length=2, silence=False)))
    assert tree(plain.body) == response(E("Pause", {"length": "2"}))
    with pytest.raises(DocumentError, match="Wait"):
        to_twiml(plivo(plivoxml.WaitElement(length=10, silence=True, min_silence=500)))
    with pytest.raises(DocumentError, match="Wait"):
        to_twiml(plivo(plivoxml.WaitElement(length=10, beep=True)))


def test_redirect_false_continues_with_the_rest_of_the_document() -> None:
    mapper = Mapper()
    doc = plivo(
        plivoxml.GetDigitsElement(action="/digits", method="GET", redirect=False),
        plivoxml.SpeakElement("After & done"),
        plivoxml.HangupElement(),
    )
    out = to_twiml(doc, mapper)
    rest = '<Response><Say voice="woman">After &amp; done</Say><Hangup /></Response>'
    assert mapper.requests == [
        UrlRequest(
            f"{APP}/digits",
            "GET",
            "continue",
            {"action": f"{APP}/digits", "method": "GET", "element": "GetDigits", "rest": rest},
        )
    ]
    assert tree(out.body) == response(
        E("Gather", {"action": routed(f"{APP}/digits", "continue"), "method": "GET"}),
        E("Say", {"voice": "woman"}, "After & done"),
        E("Hangup"),
    )


def test_redirect_false_rest_holds_later_continue_urls() -> None:
    mapper = Mapper()
    d = plivoxml.DialElement(action="/dialled", redirect=False)
    d.add(plivoxml.NumberElement("14155550100"))
    doc = plivo(plivoxml.RecordElement(action="/rec", redirect=False), d, plivoxml.HangupElement())
    to_twiml(doc, mapper)
    first, second = mapper.requests[0], mapper.requests[1]
    # Back to front: the Dial's continue is built first, and the Record's rest contains it.
    assert (first.extra["element"], second.extra["element"]) == ("Dial", "Record")
    assert first.extra["rest"] == "<Response><Hangup /></Response>"
    assert routed(f"{APP}/dialled", "continue") in second.extra["rest"]


@pytest.mark.parametrize(
    "element",
    [
        plivoxml.GetDigitsElement(),
        plivoxml.GetInputElement(input_type="dtmf"),
        plivoxml.RecordElement(),
    ],
)
def test_input_or_record_without_action_continues_rather_than_loop(element: Any) -> None:
    mapper = Mapper()
    to_twiml(plivo(element, plivoxml.SpeakElement("next")), mapper)
    (request,) = mapper.requests
    assert (request.kind, request.url, request.extra["action"]) == ("continue", DOC_URL, "")
    assert request.extra["rest"] == '<Response><Say voice="woman">next</Say></Response>'


def test_dial_without_action_needs_no_continue() -> None:
    mapper = Mapper()
    d = plivoxml.DialElement(redirect=False)
    d.add(plivoxml.NumberElement("14155550100"))
    out = to_twiml(plivo(d), mapper)
    assert mapper.requests == []
    assert "action" not in tree(out.body)[3][0][1]


def test_unknown_element_is_refused_by_name_in_both_dialects() -> None:
    with pytest.raises(DocumentError, match="unknown element <Dance>"):
        to_plivo(b"<Response><Dance/></Response>")
    with pytest.raises(DocumentError, match="unknown element <Say>"):
        to_twiml(b"<Response><Say>hi</Say></Response>")


def test_unknown_attribute_is_refused_by_name_in_both_dialects() -> None:
    with pytest.raises(DocumentError, match="unknown attribute colour on <Say>"):
        to_plivo(b'<Response><Say colour="red">hi</Say></Response>')
    with pytest.raises(DocumentError, match="unknown attribute loop on <Wait>"):
        to_twiml(b'<Response><Wait loop="2"/></Response>')


def test_element_in_the_wrong_place_is_refused() -> None:
    with pytest.raises(DocumentError, match="not allowed in <Gather>"):
        to_plivo(b"<Response><Gather><Dial>+14155550100</Dial></Gather></Response>")
    with pytest.raises(DocumentError, match="not allowed in <Response>"):
        to_plivo(b"<Response><Number>+14155550100</Number></Response>")


@pytest.mark.parametrize(
    "doc",
    [
        b'<Response><Say voice="robot">hi</Say></Response>',
        b'<Response><Gather input="telepathy"/></Response>',
        b'<Response><Dial hangupOnStar="yes">+14155550100</Dial></Response>',
        b'<Response><Redirect method="PUT">/x</Redirect></Response>',
        b'<Response><Pause length="-1"/></Response>',
        b'<Response><Play loop="many">https://a.example/x.mp3</Play></Response>',
        b'<Response><Gather finishOnKey="12"/></Response>',
        b'<Response><Say language="en US">hi</Say></Response>',
    ],
)
def test_invalid_twiml_values_are_refused(doc: bytes) -> None:
    with pytest.raises(DocumentError, match="invalid value"):
        to_plivo(doc)


@pytest.mark.parametrize(
    "doc",
    [
        b'<Response><Speak voice="man">hi</Speak></Response>',
        b'<Response><GetInput inputType="dtmf,speech" action="/a"/></Response>',
        b'<Response><Record playBeep="1"/></Response>',
        b'<Response><Dial method="get2"><Number>1</Number></Dial></Response>',
    ],
)
def test_invalid_plivo_values_are_refused(doc: bytes) -> None:
    with pytest.raises(DocumentError, match="invalid value"):
        to_twiml(doc)


def test_methods_are_accepted_in_any_case_and_written_upper() -> None:
    out = to_plivo(b'<Response><Redirect method="get">/x</Redirect></Response>')
    assert tree(out.body)[3][0][1] == {"method": "GET"}


def test_stray_text_is_refused() -> None:
    with pytest.raises(DocumentError, match="unexpected text"):
        to_plivo(b"<Response>hello<Hangup/></Response>")
    with pytest.raises(DocumentError, match="unexpected text"):
        to_plivo(b"<Response><Hangup/>bye</Response>")


def test_dial_with_nothing_to_dial_is_refused() -> None:
    with pytest.raises(DocumentError, match="nothing to dial"):
        to_plivo(b"<Response><Dial/></Response>")
    with pytest.raises(DocumentError, match="nothing to dial"):
        to_twiml(b"<Response><Dial/></Response>")


def test_dial_number_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(DocumentError, match="phone number"):
        to_plivo(b"<Response><Dial>call mom</Dial></Response>")


# --- URLs ------------------------------------------------------------------------------------


def test_relative_action_resolves_against_the_document_url() -> None:
    mapper = Mapper()
    to_plivo(voice(lambda r: r.gather(action="next")), mapper)
    assert mapper.requests[0].url == "https://app.example.com/voice/next"


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        ("next", "https://app.example.com/voice/next"),
        ("/root?x=1", "https://app.example.com/root?x=1"),
        ("../up", "https://app.example.com/up"),
        ("//cdn.example.org/p", "https://cdn.example.org/p"),
        ("http://other.example/abs", "http://other.example/abs"),
    ],
)
def test_urls_resolve_like_a_browser(value: str, resolved: str) -> None:
    mapper = Mapper()
    to_plivo(voice(lambda r: r.redirect(value)), mapper)
    assert mapper.requests[0].url == resolved


@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "file:///etc/passwd", "ftp://x.example/a", "/a b"]
)
def test_urls_that_are_not_http_are_refused(value: str) -> None:
    with pytest.raises(DocumentError, match="URL"):
        to_plivo(voice(lambda r: r.redirect(value)))


TWIML_KINDS: list[tuple[str, bytes, list[tuple[str, str, str]]]] = [
    (
        "gather",
        b'<Response><Gather input="speech" action="g" method="GET" partialResultCallback="p"'
        b' partialResultCallbackMethod="GET"/></Response>',
        [("action", f"{APP}/voice/g", "GET"), ("partial-speech", f"{APP}/voice/p", "GET")],
    ),
    (
        "record",
        b'<Response><Record action="r" recordingStatusCallback="s" recordingStatusCallbackMethod="GET"'
        b' transcribeCallback="t"/></Response>',
        [
            ("action", f"{APP}/voice/r", "POST"),
            ("recording-status", f"{APP}/voice/s", "GET"),
            ("transcription", f"{APP}/voice/t", "POST"),
        ],
    ),
    (
        "dial",
        b'<Response><Dial action="d" method="GET" record="record-from-answer"'
        b' recordingStatusCallback="rs"><Number url="w" method="GET" statusCallback="s"'
        b' statusCallbackMethod="GET">+14155550100</Number></Dial></Response>',
        [
            ("recording-status", f"{APP}/voice/rs", "POST"),
            ("action", f"{APP}/voice/d", "GET"),
            ("whisper", f"{APP}/voice/w", "GET"),
            ("dial-status", f"{APP}/voice/s", "GET"),
        ],
    ),
    (
        "conference",
        b'<Response><Dial action="d"><Conference waitUrl="w" waitMethod="GET" statusCallback="s"'
        b' statusCallbackMethod="GET">room</Conference></Dial></Response>',
        [
            ("wait", f"{APP}/voice/w", "GET"),
            ("conference-status", f"{APP}/voice/s", "GET"),
            ("action", f"{APP}/voice/d", "POST"),
        ],
    ),
    (
        "redirect",
        b'<Response><Redirect method="GET">x</Redirect></Response>',
        [("redirect", f"{APP}/voice/x", "GET")],
    ),
    (
        "sms",
        b'<Response><Sms to="+14155550100" from="+14155550199" action="a" method="GET"'
        b' statusCallback="s">hi</Sms></Response>',
        [("message-status", f"{APP}/voice/s", "POST"), ("action", f"{APP}/voice/a", "GET")],
    ),
    (
        "start",
        b'<Response><Start><Recording recordingStatusCallback="s"'
        b' recordingStatusCallbackMethod="GET"/></Start></Response>',
        [("recording-status", f"{APP}/voice/s", "GET")],
    ),
]


@pytest.mark.parametrize(("name", "doc", "expected"), TWIML_KINDS, ids=[k[0] for k in TWIML_KINDS])
def test_url_mapper_sees_every_twiml_url_kind(
    name: str, doc: bytes, expected: list[tuple[str, str, str]]
) -> None:
    mapper = Mapper()
    out = to_plivo(doc, mapper)
    assert [(r.kind, r.url, r.method) for r in mapper.requests] == expected
    for kind, url, _ in expected:
        assert routed(url, kind).encode().replace(b"&", b"&amp;") in out.body


def test_url_mapper_sees_message_status_in_a_messaging_reply() -> None:
    mapper = Mapper()
    to_plivo(b'<Response><Message action="st" method="GET">x</Message></Response>', mapper, SMS_IN)
    assert [(r.kind, r.url, r.method) for r in mapper.requests] == [
        ("message-status", f"{APP}/voice/st", "GET")
    ]


PLIVO_KINDS: list[tuple[str, bytes, list[tuple[str, str, str]]]] = [
    (
        "get_input",
        b'<Response><GetInput inputType="speech" action="g" method="GET"'
        b' interimSpeechResultsCallback="p" interimSpeechResultsCallbackMethod="GET"/></Response>',
        [("action", f"{APP}/voice/g", "GET"), ("partial-speech", f"{APP}/voice/p", "GET")],
    ),
    (
        "record",
        b'<Response><Record action="r" callbackUrl="s" callbackMethod="GET" transcriptionType="auto"'
        b' transcriptionUrl="t" transcriptionMethod="GET"/></Response>',
        [
            ("action", f"{APP}/voice/r", "POST"),
            ("recording-status", f"{APP}/voice/s", "GET"),
            ("transcription", f"{APP}/voice/t", "GET"),
        ],
    ),
    (
        "dial",
        b'<Response><Dial action="d" method="GET" confirmSound="w" callbackUrl="s"'
        b' callbackMethod="GET"><Number>14155550100</Number></Dial></Response>',
        [
            ("action", f"{APP}/voice/d", "GET"),
            ("whisper", f"{APP}/voice/w", "POST"),
            ("dial-status", f"{APP}/voice/s", "GET"),
        ],
    ),
    (
        "conference",
        b'<Response><Conference action="a" waitSound="w" callbackUrl="s" callbackMethod="GET">'
        b"room</Conference></Response>",
        [
            ("action", f"{APP}/voice/a", "POST"),
            ("wait", f"{APP}/voice/w", "POST"),
            ("conference-status", f"{APP}/voice/s", "GET"),
        ],
    ),
    (
        "redirect",
        b'<Response><Redirect method="GET">x</Redirect></Response>',
        [("redirect", f"{APP}/voice/x", "GET")],
    ),
    (
        "message",
        b'<Response><Speak>hi</Speak><Message src="14155550199" dst="14155550100"'
        b' callbackUrl="s" callbackMethod="GET">hi</Message></Response>',
        [("message-status", f"{APP}/voice/s", "GET")],
    ),
]


@pytest.mark.parametrize(("name", "doc", "expected"), PLIVO_KINDS, ids=[k[0] for k in PLIVO_KINDS])
def test_url_mapper_sees_every_plivo_url_kind(
    name: str, doc: bytes, expected: list[tuple[str, str, str]]
) -> None:
    mapper = Mapper()
    out = to_twiml(doc, mapper)
    assert sorted((r.kind, r.url, r.method) for r in mapper.requests) == sorted(expected)
    for kind, url, _ in expected:
        assert routed(url, kind).encode().replace(b"&", b"&amp;") in out.body


# --- hostile input -------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Response><Say>&lol9;</Say></Response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Response><Say>&xxe;</Say></Response>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Response SYSTEM "http://attacker.example/evil.dtd">
<Response><Hangup/></Response>"""

PLAIN_DTD = b"""<?xml version="1.0"?><!DOCTYPE Response><Response><Hangup/></Response>"""

HOSTILE: list[tuple[str, bytes, str]] = [
    ("billion laughs", BILLION_LAUGHS, "DTDs"),
    ("external entity", EXTERNAL_ENTITY, "DTDs"),
    ("external DTD", EXTERNAL_DTD, "DTDs"),
    ("DTD", PLAIN_DTD, "DTDs"),
    ("oversized", b"<Response>" + b"<Pause/>" * 9000 + b"</Response>", "larger"),
    ("deep", b"<Response>" + b"<Say>" * 2000 + b"</Say>" * 2000 + b"</Response>", "deeply"),
    ("many", b"<Response>" + b"<Hangup/>" * 600 + b"</Response>", "too many"),
    ("html", b"<!doctype html><html><body><p>Oops</p></body></html>", "well-formed"),
    ("xhtml", b"<!DOCTYPE html><html><body><p>Oops</p></body></html>", "DTDs"),
    ("html no doctype", b"<html><body>Oops</body></html>", "not <Response>"),
    ("not xml", b"Internal Server Error", "well-formed"),
    ("json", b'{"say": "hi"}', "well-formed"),
    ("empty", b"", "well-formed"),
    ("truncated", b"<Response><Say>hi</Say>", "well-formed"),
    ("other root", b"<Document><Say>hi</Say></Document>", "not <Response>"),
    ("namespaced root", b'<Response xmlns="urn:x"><Hangup/></Response>', "not <Response>"),
    ("bad encoding", b'<?xml version="1.0" encoding="nope"?><Response/>', "well-formed"),
]


@pytest.mark.parametrize(("name", "doc", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize("translate", [to_plivo, to_twiml], ids=["twiml", "plivo"])
def test_hostile_documents_are_refused_fast(
    name: str, doc: bytes, reason: str, translate: Callable[[bytes], Translated]
) -> None:
    started = time.perf_counter()
    with pytest.raises(DocumentError, match=reason):
        translate(doc)
    assert time.perf_counter() - started < 1.0


def test_size_limit_is_checked_before_parsing() -> None:
    # Not even XML: only the size check can refuse it with this reason.
    with pytest.raises(DocumentError, match="larger"):
        to_plivo(b"\x00" * 2048, options=Options(max_bytes=1024))


def test_limits_are_configurable() -> None:
    doc = voice(lambda r: r.hangup())
    with pytest.raises(DocumentError, match="too many"):
        to_plivo(doc, options=Options(max_elements=1))
    nested = voice(lambda r: r.gather(action="/a").say("x"))
    with pytest.raises(DocumentError, match="deeply"):
        to_plivo(nested, options=Options(max_depth=2))


def test_error_reasons_never_echo_values() -> None:
    with pytest.raises(DocumentError) as caught:
        to_plivo(b'<Response><Say voice="+14155550100-secret">hi</Say></Response>')
    assert "secret" not in caught.value.reason and "voice" in caught.value.reason


def test_document_url_must_be_absolute_http() -> None:
    with pytest.raises(DocumentError, match="document URL"):
        twiml_to_plivo(b"<Response/>", document_url="/relative", url_mapper=Mapper(), incoming={})


# --- output -------------------------------------------------------------------------------------


def test_output_is_deterministic_with_sorted_attributes() -> None:
    doc = voice(lambda r: r.gather(timeout=3, num_digits=2, action="/a", method="GET"))
    first, second = to_plivo(doc).body, to_plivo(doc).body
    assert first == second
    element = SafeET.fromstring(first)[0]
    assert list(element.attrib) == sorted(element.attrib)


def test_output_escapes_text_and_attributes() -> None:
    r = VoiceResponse()
    r.say('He said "5 < 6" & left')
    r.redirect("/x?a=1&b=2")
    out = to_plivo(twilio_doc(r), Mapper())
    parsed = SafeET.fromstring(out.body)
    assert parsed[0].text == 'He said "5 < 6" & left'
    assert parsed[1].text == routed(f"{APP}/x?a=1&b=2", "redirect")


def test_hangup_document_in_both_styles() -> None:
    for style in ("twilio", "plivo"):
        body = hangup_document(style)  # type: ignore[arg-type]
        assert tree(body) == response(E("Hangup"))


# --- structure the reference implies --------------------------------------------------------

TWIML_BROKEN: list[tuple[bytes, str]] = [
    (b"<Response><Play/></Response>", "neither a URL nor digits"),
    (b"<Response><Dial>+14155550100<Number>+14155550101</Number></Dial></Response>", "both"),
    (
        b"<Response><Dial><Conference>r</Conference><Number>+14155550101</Number></Dial></Response>",
        "mixes",
    ),
    (b"<Response><Dial><Sip>tel:+14155550100</Sip></Dial></Response>", "SIP URI"),
    (b"<Response><Dial><Conference> </Conference></Dial></Response>", "room name"),
    (b"<Response><Message>x</Message><Say>y</Say></Response>", "messaging reply"),
]


@pytest.mark.parametrize(("doc", "reason"), TWIML_BROKEN)
def test_broken_twiml_structure_is_refused(doc: bytes, reason: str) -> None:
    with pytest.raises(DocumentError, match=reason):
        to_plivo(doc)


def test_message_in_a_voice_call_is_refused() -> None:
    with pytest.raises(DocumentError, match="not a voice verb"):
        to_plivo(b"<Response><Message>x</Message></Response>", incoming={"CallSid": "CA1"})


PLIVO_BROKEN: list[tuple[bytes, str]] = [
    (b"<Response><DTMF>xyz</DTMF></Response>", "no digits"),
    (b'<Response><GetInput action="/a"/></Response>', "inputType"),
    (b"<Response><Dial><Number>call mom</Number></Dial></Response>", "phone number"),
    (b"<Response><Dial><User>alice</User></Dial></Response>", "SIP URI"),
    (b"<Response><Conference/></Response>", "room name"),
    (b'<Response><Message dst="14155550100">x</Message></Response>', "src and dst"),
]


@pytest.mark.parametrize(("doc", "reason"), PLIVO_BROKEN)
def test_broken_plivo_structure_is_refused(doc: bytes, reason: str) -> None:
    with pytest.raises(DocumentError, match=reason):
        to_twiml(doc)


def test_dial_queue_mapped_to_a_room_takes_the_dials_action() -> None:
    options = Options(queue_rooms={"sales": "sales-room"})
    r = VoiceResponse()
    r.dial(action="/after").queue("sales", url="/agent-whisper")
    out = to_plivo(twilio_doc(r), options=options)
    assert tree(out.body) == response(
        E("Conference", {"action": routed(f"{APP}/after", "action")}, "sales-room")
    )
    assert noted(out, "Queue", "url", "dropped")


def test_get_digits_retries_are_capped() -> None:
    out = to_twiml(plivo(plivoxml.GetDigitsElement(action="/a", retries=50)))
    assert len(tree(out.body)[3]) == 10
    assert noted(out, "GetDigits", "retries", "clamped")


def test_short_codes_get_no_plus() -> None:
    doc = plivo(plivoxml.MessageElement("Hi", src="12345", dst="14155550100"))
    out = to_twiml(doc, incoming={"MessageUUID": "m1"})
    assert tree(out.body)[3][0][1] == {"from": "12345", "to": "+14155550100"}


def test_translated_size_is_bounded() -> None:
    doc = voice(lambda r: r.say("x" * 2000))
    with pytest.raises(DocumentError, match="translated document"):
        to_plivo(doc, options=Options(max_output_bytes=1000))


def test_documents_must_be_bytes() -> None:
    with pytest.raises(DocumentError, match="bytes"):
        to_plivo("<Response/>")  # type: ignore[arg-type]


def test_url_requests_can_be_used_as_cache_keys() -> None:
    first = UrlRequest(f"{APP}/a", "POST", "continue", {"rest": "<Response />"})
    second = UrlRequest(f"{APP}/a", "POST", "continue", {"rest": "<Response />"})
    assert {first: 1}[second] == 1


def test_hangup_document_refuses_an_unknown_style() -> None:
    with pytest.raises(ValueError, match="style"):
        hangup_document("signalwire")  # type: ignore[arg-type]
