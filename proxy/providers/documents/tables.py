"""What TwiML and Plivo XML say, and how one reads as the other: data only, no behaviour.

The rest of the package (``validation``, ``attributes``, ``to_plivo``, ``to_twiml``…) walks
these tables; nothing here runs. Keeping the mapping as data means one row serves both
directions: a pair ``(twiml, plivo)`` in ``RENAMES`` or ``VALUE_PAIRS`` is read left to right
for a Twilio-style app on a Plivo carrier and right to left for a Plivo-style app on a Twilio
carrier. What only one direction knows (``alice`` is a woman's voice; Plivo has no
``speech dtmf`` spelling) sits in the ``ONE_WAY_*`` tables.

Why this module is over 400 lines: its length is the two languages' vocabulary, one row per
element, attribute or value; split across files, a reader checking one element against the
reference would have to look in several places, and no code here would get shorter.

Sources: the TwiML and Plivo XML references as of the SDKs pinned in ``pyproject.toml`` (the
attribute names each SDK builder writes), and the project's webhook reference (its section 5
table and section 7 behaviours).

How to read a vocabulary entry: ``Spec(attributes, children, text)``, where ``attributes`` maps
each attribute the dialect defines for the element to its value kind (below), ``children`` lists
the elements that may nest in it and ``text`` says what its text is (``TEXT_NONE``: only
whitespace; ``TEXT_VALUE``: the text is a value such as a URL or a number; ``TEXT_MIXED``: speech
text with SSML elements in between). An element or attribute missing from its dialect's
vocabulary is unknown, and an unknown name is never forwarded.

Value kinds: a tuple is an enumeration (exact spelling); ``validation`` checks the strings:
``bool`` (``true``/``false``), ``method`` (``GET``/``POST``, any case), ``int0`` (0 or more),
``int1`` (1 or more), ``auto-int`` (``auto`` or 1 or more), ``url`` (a URL the carrier would
request: when carried over, routed back through the proxy with the kind ``URL_ATTRIBUTES`` gives
it), ``media`` (a URL the carrier only plays: resolved, not routed),
``language`` (a BCP 47-like tag), ``twilio-voice`` / ``plivo-voice``, ``dtmf`` (digits to send),
``key`` (one finishing key or none), ``keys`` (a set of finishing keys), ``plivo-key`` and
``plivo-keys`` (the same, or ``none``), ``phone``, ``text``.

Why this is one file of some 900 lines rather than several: it holds no behaviour, and it is
checked by reading it against the references, element by element. One element's facts are
spread over several tables (its vocabulary entry, defaults, renames, value pairs, URL kinds,
deliberate drops, limits); in one file a single search for ``"Record"`` shows every row the
translation reads about it. Split by direction, each pair would have to be written twice (one
row serves both); split by element family, the shared groups (SSML, status and AMD attributes,
URL kinds) would be imported back and forth between the parts.

May import: the standard library only (``proxy.settings`` reads the URL kinds from here).
"""

from __future__ import annotations

from typing import Final, NamedTuple

TWILIO: Final = "twilio"
PLIVO: Final = "plivo"

TEXT_NONE: Final = "none"
TEXT_VALUE: Final = "value"
TEXT_MIXED: Final = "mixed"

XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
"""``xml:lang`` as ElementTree names it once parsed (SSML ``<lang>``)."""

TEXT: Final = "#text"
"""Stands for an element's text where a table row names an attribute (``Redirect``'s URL)."""


class Spec(NamedTuple):
    """One element of a dialect: its attributes (name → value kind), children and text."""

    attributes: dict[str, str | tuple[str, ...]]
    children: tuple[str, ...]
    text: str


BOOL: Final = "bool"
METHOD: Final = "method"
INT0: Final = "int0"
INT1: Final = "int1"
AUTO_INT: Final = "auto-int"
URL: Final = "url"
MEDIA: Final = "media"
LANGUAGE: Final = "language"
DTMF: Final = "dtmf"
KEY: Final = "key"
KEYS: Final = "keys"
PLIVO_KEY: Final = "plivo-key"
PLIVO_KEYS: Final = "plivo-keys"
PHONE: Final = "phone"
ANY: Final = "text"

# --- URL kinds: what the proxy is told about each URL it routes back (UrlRequest.kind) --------

KIND_ACTION: Final = "action"
KIND_REDIRECT: Final = "redirect"
KIND_RECORDING_STATUS: Final = "recording-status"
KIND_DIAL_STATUS: Final = "dial-status"
KIND_CONFERENCE_STATUS: Final = "conference-status"
KIND_WAIT: Final = "wait"
KIND_WHISPER: Final = "whisper"
KIND_MESSAGE_STATUS: Final = "message-status"
KIND_PARTIAL_SPEECH: Final = "partial-speech"
KIND_TRANSCRIPTION: Final = "transcription"
KIND_CONTINUE: Final = "continue"
# Every kind a translated document may ask the proxy to seal; ``continue`` only comes from
# Plivo documents (``redirect="false"``) played on a Twilio carrier.
URL_KINDS: Final = (
    KIND_ACTION, KIND_REDIRECT, KIND_RECORDING_STATUS, KIND_DIAL_STATUS, KIND_CONFERENCE_STATUS,
    KIND_WAIT, KIND_WHISPER, KIND_MESSAGE_STATUS, KIND_PARTIAL_SPEECH, KIND_TRANSCRIPTION,
)  # fmt: skip

# --- SSML: the same elements and attributes in both dialects ---------------------------------

SSML_ALL: Final = (
    "break",
    "emphasis",
    "lang",
    "p",
    "phoneme",
    "prosody",
    "s",
    "say-as",
    "sub",
    "w",
)
_SSML_INLINE = ("break", "emphasis", "lang", "phoneme", "prosody", "say-as", "sub", "w")

SSML: Final[dict[str, Spec]] = {
    "break": Spec(
        {"strength": ("none", "x-weak", "weak", "medium", "strong", "x-strong"), "time": ANY},
        (),
        TEXT_NONE,
    ),
    "emphasis": Spec({"level": ("strong", "moderate", "reduced")}, _SSML_INLINE, TEXT_MIXED),
    "lang": Spec({XML_LANG: LANGUAGE}, SSML_ALL, TEXT_MIXED),
    "p": Spec({}, SSML_ALL, TEXT_MIXED),
    "phoneme": Spec({"alphabet": ("ipa", "x-sampa"), "ph": ANY}, (), TEXT_MIXED),
    "prosody": Spec({"pitch": ANY, "rate": ANY, "volume": ANY}, SSML_ALL, TEXT_MIXED),
    "s": Spec({}, _SSML_INLINE, TEXT_MIXED),
    "say-as": Spec({"interpret-as": ANY, "format": ANY}, (), TEXT_MIXED),
    "sub": Spec({"alias": ANY}, (), TEXT_MIXED),
    "w": Spec({"role": ANY}, _SSML_INLINE, TEXT_MIXED),
}

# --- TwiML vocabulary (voice and messaging) ----------------------------------------------------

_RECORDING_TRIM = ("trim-silence", "do-not-trim")
_DIAL_RECORD = (
    "do-not-record",
    "record-from-answer",
    "record-from-ringing",
    "record-from-answer-dual",
    "record-from-ringing-dual",
    "true",
    "false",
)
_STATUS_ATTRIBUTES: dict[str, str | tuple[str, ...]] = {
    "url": URL,
    "method": METHOD,
    "statusCallback": URL,
    "statusCallbackMethod": METHOD,
    "statusCallbackEvent": ANY,
}
_AMD_ATTRIBUTES: dict[str, str | tuple[str, ...]] = {
    "machineDetection": ("Enable", "DetectMessageEnd"),
    "machineDetectionTimeout": INT1,
    "machineDetectionSpeechThreshold": INT1,
    "machineDetectionSpeechEndThreshold": INT1,
    "machineDetectionSilenceTimeout": INT1,
    "amdStatusCallback": ANY,
    "amdStatusCallbackMethod": METHOD,
}

TWIML_VOICE_VERBS: Final = (
    "Say",
    "Play",
    "Pause",
    "Gather",
    "Record",
    "Dial",
    "Hangup",
    "Reject",
    "Redirect",
    "Sms",
    "Start",
    "Enqueue",
    "Leave",
)
TWIML_MESSAGING_VERBS: Final = ("Message", "Redirect")

TWIML_ELEMENTS: Final[dict[str, Spec]] = {
    "Response": Spec({}, (*TWIML_VOICE_VERBS, "Message"), TEXT_NONE),
    "Say": Spec(
        {"voice": "twilio-voice", "language": LANGUAGE, "loop": INT0}, SSML_ALL, TEXT_MIXED
    ),
    "Play": Spec({"loop": INT0, "digits": DTMF}, (), TEXT_VALUE),
    "Pause": Spec({"length": INT1}, (), TEXT_NONE),
    "Gather": Spec(
        {
            "input": ("dtmf", "speech", "dtmf speech", "speech dtmf"),
            "action": URL,
            "method": METHOD,
            "timeout": INT1,
            "speechTimeout": AUTO_INT,
            "maxSpeechTime": INT1,
            "profanityFilter": BOOL,
            "finishOnKey": KEY,
            "numDigits": INT1,
            "partialResultCallback": URL,
            "partialResultCallbackMethod": METHOD,
            "language": LANGUAGE,
            "hints": ANY,
            "bargeIn": BOOL,
            "debug": BOOL,
            "actionOnEmptyResult": BOOL,
            "speechModel": ANY,
            "enhanced": BOOL,
        },
        ("Say", "Play", "Pause"),
        TEXT_NONE,
    ),
    "Record": Spec(
        {
            "action": URL,
            "method": METHOD,
            "timeout": INT1,
            "finishOnKey": KEYS,
            "maxLength": INT1,
            "playBeep": BOOL,
            "trim": _RECORDING_TRIM,
            "recordingStatusCallback": URL,
            "recordingStatusCallbackMethod": METHOD,
            "recordingStatusCallbackEvent": ANY,
            "transcribe": BOOL,
            "transcribeCallback": URL,
            "recordingConfigurationId": ANY,
        },
        (),
        TEXT_NONE,
    ),
    "Dial": Spec(
        {
            "action": URL,
            "method": METHOD,
            "timeout": INT1,
            "hangupOnStar": BOOL,
            "timeLimit": INT1,
            "callerId": PHONE,
            "record": _DIAL_RECORD,
            "trim": _RECORDING_TRIM,
            "recordingStatusCallback": URL,
            "recordingStatusCallbackMethod": METHOD,
            "recordingStatusCallbackEvent": ANY,
            "recordingConfigurationId": ANY,
            "answerOnBridge": BOOL,
            "ringTone": ANY,
            "recordingTrack": ("both", "inbound", "outbound"),
            "sequential": BOOL,
            "referUrl": ANY,
            "referMethod": METHOD,
            "events": ANY,
        },
        ("Number", "Client", "Sip", "Conference", "Queue", "Sim", "Application", "WhatsApp"),
        TEXT_VALUE,
    ),
    "Number": Spec(
        {"sendDigits": DTMF, "byoc": ANY, **_STATUS_ATTRIBUTES, **_AMD_ATTRIBUTES},
        (),
        TEXT_VALUE,
    ),
    "Client": Spec(_STATUS_ATTRIBUTES, ("Identity", "Parameter"), TEXT_VALUE),
    "Identity": Spec({}, (), TEXT_VALUE),
    "Parameter": Spec({"name": ANY, "value": ANY}, (), TEXT_NONE),
    "Sip": Spec(
        {"username": ANY, "password": ANY, **_STATUS_ATTRIBUTES, **_AMD_ATTRIBUTES},
        (),
        TEXT_VALUE,
    ),
    "Conference": Spec(
        {
            "muted": BOOL,
            "beep": ("true", "false", "onEnter", "onExit"),
            "startConferenceOnEnter": BOOL,
            "endConferenceOnExit": BOOL,
            "waitUrl": URL,
            "waitMethod": METHOD,
            "maxParticipants": INT1,
            "record": ("do-not-record", "record-from-start"),
            "region": ANY,
            "coach": ANY,
            "trim": _RECORDING_TRIM,
            "statusCallbackEvent": ANY,
            "statusCallback": URL,
            "statusCallbackMethod": METHOD,
            "recordingStatusCallback": ANY,
            "recordingStatusCallbackMethod": METHOD,
            "recordingStatusCallbackEvent": ANY,
            "eventCallbackUrl": ANY,
            "jitterBufferSize": ANY,
            "participantLabel": ANY,
            "recordingConfigurationId": ANY,
            "beepOnCustomerEntrance": BOOL,
        },
        (),
        TEXT_VALUE,
    ),
    "Queue": Spec(
        {"url": URL, "method": METHOD, "reservationSid": ANY, "postWorkActivitySid": ANY},
        (),
        TEXT_VALUE,
    ),
    "Hangup": Spec({}, (), TEXT_NONE),
    "Reject": Spec({"reason": ("rejected", "busy")}, (), TEXT_NONE),
    "Redirect": Spec({"method": METHOD}, (), TEXT_VALUE),
    "Sms": Spec(
        {"to": PHONE, "from": PHONE, "action": URL, "method": METHOD, "statusCallback": URL},
        (),
        TEXT_VALUE,
    ),
    "Start": Spec({"action": URL, "method": METHOD}, ("Recording",), TEXT_NONE),
    "Recording": Spec(
        {
            "recordingStatusCallback": URL,
            "recordingStatusCallbackMethod": METHOD,
            "recordingStatusCallbackEvent": ANY,
            "trim": _RECORDING_TRIM,
            "track": ("inbound", "outbound", "both"),
            "channels": ("mono", "dual"),
            "recordingConfigurationId": ANY,
        },
        (),
        TEXT_NONE,
    ),
    "Enqueue": Spec(
        {
            "action": URL,
            "method": METHOD,
            "waitUrl": URL,
            "waitUrlMethod": METHOD,
            "maxQueueSize": INT1,
            "workflowSid": ANY,
        },
        ("Task",),
        TEXT_VALUE,
    ),
    "Task": Spec({"priority": INT0, "timeout": INT1}, (), TEXT_VALUE),
    "Leave": Spec({}, (), TEXT_NONE),
    # Messaging (MessagingResponse)
    "Message": Spec(
        {"to": PHONE, "from": PHONE, "action": URL, "method": METHOD, "statusCallback": URL},
        ("Body", "Media"),
        TEXT_VALUE,
    ),
    "Body": Spec({}, (), TEXT_VALUE),
    "Media": Spec({}, (), TEXT_VALUE),
}

# Refused outright (DocumentError): "refuse clearly rather than run half a call". The queue
# verbs (Enqueue, Queue, Leave) are not here: they answer with an apology and a hangup instead,
# unless a queue name is mapped to a conference room.
TWIML_REFUSED: Final[dict[str, str]] = {
    "Pay": "card payments have no Plivo XML equivalent",
    "Prompt": "card payments have no Plivo XML equivalent",
    "Echo": "no Plivo XML equivalent",
    "Refer": "SIP REFER has no Plivo XML equivalent",
    "Siprec": "SIPREC has no Plivo XML equivalent",
    "Transcription": "real-time transcription has no Plivo XML equivalent",
    "Stream": "media streams differ between providers and are not enabled",
    "Connect": "media streams and virtual agents are not enabled",
    "Stop": "media streams are not enabled",
    "Sim": "Twilio SIMs do not exist on Plivo",
    "Application": "Twilio applications do not exist on Plivo",
    "WhatsApp": "WhatsApp dialling has no Plivo XML equivalent",
}

# --- Plivo XML vocabulary --------------------------------------------------------------------

PLIVO_VERBS: Final = (
    "Speak",
    "Play",
    "Wait",
    "DTMF",
    "GetDigits",
    "GetInput",
    "Record",
    "Dial",
    "Conference",
    "Hangup",
    "Redirect",
    "Message",
    "PreAnswer",
)
_PROMPTS = ("Speak", "Play", "Wait")

PLIVO_ELEMENTS: Final[dict[str, Spec]] = {
    "Response": Spec({}, PLIVO_VERBS, TEXT_NONE),
    "Speak": Spec(
        {"voice": "plivo-voice", "language": LANGUAGE, "loop": INT0}, SSML_ALL, TEXT_MIXED
    ),
    "Play": Spec({"loop": INT0}, (), TEXT_VALUE),
    "Wait": Spec(
        {"length": INT1, "silence": BOOL, "minSilence": INT1, "beep": BOOL}, (), TEXT_NONE
    ),
    "DTMF": Spec({"async": BOOL}, (), TEXT_VALUE),
    "GetDigits": Spec(
        {
            "action": URL,
            "method": METHOD,
            "timeout": INT1,
            "digitTimeout": INT1,
            "finishOnKey": PLIVO_KEY,
            "numDigits": INT1,
            "retries": INT1,
            "redirect": BOOL,
            "playBeep": BOOL,
            "validDigits": KEYS,
            "invalidDigitsSound": MEDIA,
            "log": BOOL,
        },
        _PROMPTS,
        TEXT_NONE,
    ),
    "GetInput": Spec(
        {
            "action": URL,
            "method": METHOD,
            "inputType": ("dtmf", "speech", "dtmf speech"),
            "executionTimeout": INT1,
            "digitEndTimeout": AUTO_INT,
            "speechEndTimeout": AUTO_INT,
            "finishOnKey": PLIVO_KEY,
            "numDigits": INT1,
            "speechModel": ("default", "command_and_search", "phone_call"),
            "hints": ANY,
            "language": LANGUAGE,
            "interimSpeechResultsCallback": URL,
            "interimSpeechResultsCallbackMethod": METHOD,
            "log": BOOL,
            "redirect": BOOL,
            "profanityFilter": BOOL,
        },
        _PROMPTS,
        TEXT_NONE,
    ),
    "Record": Spec(
        {
            "action": URL,
            "method": METHOD,
            "fileFormat": ("mp3", "wav"),
            "redirect": BOOL,
            "timeout": INT1,
            "maxLength": INT1,
            "playBeep": BOOL,
            "finishOnKey": PLIVO_KEYS,
            "recordSession": BOOL,
            "startOnDialAnswer": BOOL,
            "transcriptionType": ("auto", "hybrid"),
            "transcriptionUrl": URL,
            "transcriptionMethod": METHOD,
            "transcriptionReportType": ANY,
            "callbackUrl": URL,
            "callbackMethod": METHOD,
            "recordChannelType": ("mono", "stereo"),
        },
        (),
        TEXT_NONE,
    ),
    "Dial": Spec(
        {
            "action": URL,
            "method": METHOD,
            "hangupOnStar": BOOL,
            "timeLimit": INT1,
            "timeout": INT1,
            "callerId": PHONE,
            "callerName": ANY,
            "confirmSound": URL,
            "confirmTimeout": INT1,
            "confirmKey": PLIVO_KEY,
            "dialMusic": ANY,
            "callbackUrl": URL,
            "callbackMethod": METHOD,
            "redirect": BOOL,
            "digitsMatch": ANY,
            "digitsMatchBLeg": ANY,
            "sipHeaders": ANY,
        },
        ("Number", "User"),
        TEXT_NONE,
    ),
    "Number": Spec(
        {"sendDigits": DTMF, "sendOnPreanswer": BOOL, "sendDigitsMode": ANY}, (), TEXT_VALUE
    ),
    "User": Spec(
        {
            "sendDigits": DTMF,
            "sendOnPreanswer": BOOL,
            "sipHeaders": ANY,
            "sipAuthUsername": ANY,
            "sipAuthPassword": ANY,
        },
        (),
        TEXT_VALUE,
    ),
    "Conference": Spec(
        {
            "muted": BOOL,
            "enterSound": ANY,
            "exitSound": ANY,
            "startConferenceOnEnter": BOOL,
            "endConferenceOnExit": BOOL,
            "stayAlone": BOOL,
            "waitSound": URL,
            "maxMembers": INT1,
            "record": BOOL,
            "recordFileFormat": ("mp3", "wav"),
            "timeLimit": INT1,
            "hangupOnStar": BOOL,
            "action": URL,
            "method": METHOD,
            "callbackUrl": URL,
            "callbackMethod": METHOD,
            "digitsMatch": ANY,
            "floorEvent": BOOL,
            "redirect": BOOL,
            "relayDTMF": BOOL,
            "sendDigits": DTMF,
            "recordWhenAlone": BOOL,
            "transcriptionType": ("auto", "hybrid"),
            "transcriptionUrl": ANY,
            "transcriptionMethod": METHOD,
        },
        (),
        TEXT_VALUE,
    ),
    "Hangup": Spec({"reason": ("rejected", "busy"), "schedule": INT1}, (), TEXT_NONE),
    "Redirect": Spec({"method": METHOD}, (), TEXT_VALUE),
    "Message": Spec(
        {
            "src": PHONE,
            "dst": PHONE,
            "type": ("sms",),
            "callbackUrl": URL,
            "callbackMethod": METHOD,
        },
        (),
        TEXT_VALUE,
    ),
    "PreAnswer": Spec(
        {}, ("Speak", "Play", "Wait", "GetDigits", "Redirect", "Message", "DTMF"), TEXT_NONE
    ),
}

PLIVO_REFUSED: Final[dict[str, str]] = {
    "MultiPartyCall": "multi-party calls have no TwiML equivalent",
    "Stream": "media streams differ between providers and are not enabled",
}

# --- Defaults: what each dialect assumes when an attribute is absent ----------------------------
# Written out explicitly where the other dialect assumes something else (Record always; the
# voice of Say/Speak; Dial's ring timeout), so the call behaves as the app's author expected.

TWIML_DEFAULTS: Final[dict[str, dict[str, str]]] = {
    "Say": {"voice": "man", "loop": "1", "language": "en-US"},
    "Play": {"loop": "1"},
    "Pause": {"length": "1"},
    "Gather": {"method": "POST", "timeout": "5", "finishOnKey": "#", "input": "dtmf"},
    "Record": {
        "method": "POST",
        "timeout": "5",
        "maxLength": "3600",
        "finishOnKey": "1234567890*#",
        "playBeep": "true",
    },
    "Dial": {"method": "POST", "timeout": "30", "timeLimit": "14400", "hangupOnStar": "false"},
    "Conference": {
        "beep": "true",
        "muted": "false",
        "startConferenceOnEnter": "true",
        "endConferenceOnExit": "false",
    },
    "Redirect": {"method": "POST"},
    "Reject": {"reason": "rejected"},
}

PLIVO_DEFAULTS: Final[dict[str, dict[str, str]]] = {
    "Speak": {"voice": "WOMAN", "loop": "1", "language": "en-US"},
    "Play": {"loop": "1"},
    "Wait": {"length": "1"},
    "DTMF": {"async": "true"},
    "GetDigits": {
        "method": "POST",
        "timeout": "5",
        "digitTimeout": "2",
        "finishOnKey": "#",
        "retries": "1",
        "redirect": "true",
    },
    "GetInput": {
        "method": "POST",
        "executionTimeout": "15",
        "finishOnKey": "#",
        "redirect": "true",
    },
    "Record": {
        "method": "POST",
        "timeout": "15",
        "maxLength": "60",
        "finishOnKey": "#",
        "playBeep": "true",
        "redirect": "true",
    },
    "Dial": {"method": "POST", "timeLimit": "14400", "hangupOnStar": "false", "redirect": "true"},
    "Conference": {
        "enterSound": "",
        "exitSound": "",
        "muted": "false",
        "startConferenceOnEnter": "true",
        "endConferenceOnExit": "false",
        "redirect": "true",
    },
    "Redirect": {"method": "POST"},
}

RECORD_EXPLICIT: Final = ("timeout", "maxLength", "finishOnKey", "playBeep")
"""Record attributes always written out, with the source dialect's defaults (section 7)."""

# --- Limits of the target dialect: values beyond them are clamped (and noted) ------------------

LIMITS: Final[dict[tuple[str, str, str], tuple[int, int]]] = {
    (PLIVO, "Record", "maxLength"): (2, 14400),
    (TWILIO, "Record", "maxLength"): (2, 14400),
    (PLIVO, "Conference", "maxMembers"): (2, 20),
    (PLIVO, "GetInput", "executionTimeout"): (5, 60),
    (PLIVO, "GetInput", "digitEndTimeout"): (2, 10),
    (PLIVO, "GetInput", "speechEndTimeout"): (2, 10),
    (TWILIO, "Conference", "maxParticipants"): (2, 250),
}

GETINPUT_TOTAL_FLOOR: Final = 15
"""A Gather's ``timeout`` waits for each input; GetInput's ``executionTimeout`` bounds the whole
input. The total is never set below Plivo's own default, so speech is not cut short."""

MAX_RETRIES: Final = 10
"""GetDigits ``retries`` is unrolled into that many Gathers; more than this is clamped."""

SESSION_RECORD_MAX_LENGTH: Final = "14400"
"""A Dial recording lasts the call; Plivo's Record would stop at its 60 s default."""

# --- Renames: (twiml element, plivo element) → pairs (twiml attribute, plivo attribute) -----------

RENAMES: Final[dict[tuple[str, str], tuple[tuple[str, str], ...]]] = {
    ("Say", "Speak"): (("voice", "voice"), ("language", "language"), ("loop", "loop")),
    ("Play", "Play"): (("loop", "loop"),),
    ("Pause", "Wait"): (("length", "length"),),
    ("Gather", "GetDigits"): (
        ("action", "action"),
        ("method", "method"),
        ("numDigits", "numDigits"),
        ("finishOnKey", "finishOnKey"),
        ("timeout", "timeout"),
    ),
    ("Gather", "GetInput"): (
        ("action", "action"),
        ("method", "method"),
        ("input", "inputType"),
        ("numDigits", "numDigits"),
        ("finishOnKey", "finishOnKey"),
        ("speechTimeout", "speechEndTimeout"),
        ("language", "language"),
        ("hints", "hints"),
        ("profanityFilter", "profanityFilter"),
        ("speechModel", "speechModel"),
        ("partialResultCallback", "interimSpeechResultsCallback"),
        ("partialResultCallbackMethod", "interimSpeechResultsCallbackMethod"),
    ),
    ("Record", "Record"): (
        ("action", "action"),
        ("method", "method"),
        ("timeout", "timeout"),
        ("maxLength", "maxLength"),
        ("playBeep", "playBeep"),
        ("finishOnKey", "finishOnKey"),
        ("recordingStatusCallback", "callbackUrl"),
        ("recordingStatusCallbackMethod", "callbackMethod"),
        ("transcribeCallback", "transcriptionUrl"),
    ),
    ("Dial", "Dial"): (
        ("action", "action"),
        ("method", "method"),
        ("timeout", "timeout"),
        ("timeLimit", "timeLimit"),
        ("callerId", "callerId"),
        ("hangupOnStar", "hangupOnStar"),
    ),
    ("Dial", "Conference"): (
        ("action", "action"),
        ("method", "method"),
        ("timeLimit", "timeLimit"),
        ("hangupOnStar", "hangupOnStar"),
    ),
    ("Conference", "Conference"): (
        ("muted", "muted"),
        ("startConferenceOnEnter", "startConferenceOnEnter"),
        ("endConferenceOnExit", "endConferenceOnExit"),
        ("waitUrl", "waitSound"),
        ("maxParticipants", "maxMembers"),
        ("record", "record"),
        ("statusCallback", "callbackUrl"),
        ("statusCallbackMethod", "callbackMethod"),
    ),
    ("Number", "Number"): (("sendDigits", "sendDigits"),),
    ("Sip", "User"): (("username", "sipAuthUsername"), ("password", "sipAuthPassword")),
    ("Hangup", "Hangup"): (),
    ("Reject", "Hangup"): (("reason", "reason"),),
    ("Redirect", "Redirect"): (("method", "method"),),
    ("Sms", "Message"): (("to", "dst"), ("from", "src"), ("statusCallback", "callbackUrl")),
    ("Message", "Message"): (
        ("to", "dst"),
        ("from", "src"),
        ("action", "callbackUrl"),
        ("method", "callbackMethod"),
    ),
    ("Recording", "Record"): (
        ("recordingStatusCallback", "callbackUrl"),
        ("recordingStatusCallbackMethod", "callbackMethod"),
        ("channels", "recordChannelType"),
    ),
}

# --- Values: (twiml element, twiml attribute) → pairs (twiml value, plivo value) ----------------

VALUE_PAIRS: Final[dict[tuple[str, str], tuple[tuple[str, str], ...]]] = {
    ("Say", "voice"): (("man", "MAN"), ("woman", "WOMAN")),
    ("Gather", "input"): (("dtmf", "dtmf"), ("speech", "speech"), ("dtmf speech", "dtmf speech")),
    ("Gather", "speechModel"): (
        ("default", "default"),
        ("numbers_and_commands", "command_and_search"),
        ("phone_call", "phone_call"),
    ),
    ("Conference", "record"): (("record-from-start", "true"), ("do-not-record", "false")),
    ("Recording", "channels"): (("mono", "mono"), ("dual", "stereo")),
}

ONE_WAY_TWIML_VALUES: Final[dict[tuple[str, str], dict[str, str]]] = {
    ("Say", "voice"): {"alice": "WOMAN"},
    ("Gather", "input"): {"speech dtmf": "dtmf speech"},
}

SPEECH_MODEL_FALLBACK: Final = "default"
"""Twilio speech models with no Plivo counterpart use Plivo's default model (noted)."""

FINISH_KEY_NONE: Final = (("", "none"),)
"""A Gather/Record that no key finishes: TwiML writes it empty, Plivo writes ``none``."""

DIAL_RECORDING: Final[tuple[tuple[str, tuple[str, str]], ...]] = (
    ("record-from-answer", ("true", "mono")),
    ("record-from-answer-dual", ("true", "stereo")),
    ("record-from-ringing", ("false", "mono")),
    ("record-from-ringing-dual", ("false", "stereo")),
)
"""Dial ``record`` → Plivo session ``<Record>`` (``startOnDialAnswer``, ``recordChannelType``);
read right to left for a Plivo session recording that precedes a Dial."""

DIAL_RECORDING_LEGACY: Final[dict[str, str]] = {"true": "record-from-answer"}
DIAL_NO_RECORDING: Final = ("do-not-record", "false")

CONFERENCE_BEEP: Final[tuple[tuple[str, tuple[bool, bool]], ...]] = (
    ("true", (True, True)),
    ("onEnter", (True, False)),
    ("onExit", (False, True)),
    ("false", (False, False)),
)
"""Conference ``beep`` ↔ (Plivo ``enterSound`` set, ``exitSound`` set)."""

PLIVO_BEEP: Final = "beep:1"

DIGIT_WAITS: Final = (("w", "w"), ("ww", "W"))
"""DTMF waits: both write ``w`` for half a second; Plivo's ``W`` (one second) is TwiML ``ww``."""

# --- URLs: (style, element, attribute) → (kind, attribute holding its method, or None) ----------
# A URL whose method attribute is None is requested with POST.

URL_ATTRIBUTES: Final[dict[tuple[str, str, str], tuple[str, str | None]]] = {
    (TWILIO, "Gather", "action"): (KIND_ACTION, "method"),
    (TWILIO, "Gather", "partialResultCallback"): (
        KIND_PARTIAL_SPEECH,
        "partialResultCallbackMethod",
    ),
    (TWILIO, "Record", "action"): (KIND_ACTION, "method"),
    (TWILIO, "Record", "recordingStatusCallback"): (
        KIND_RECORDING_STATUS,
        "recordingStatusCallbackMethod",
    ),
    (TWILIO, "Record", "transcribeCallback"): (KIND_TRANSCRIPTION, None),
    (TWILIO, "Dial", "action"): (KIND_ACTION, "method"),
    (TWILIO, "Dial", "recordingStatusCallback"): (
        KIND_RECORDING_STATUS,
        "recordingStatusCallbackMethod",
    ),
    (TWILIO, "Number", "url"): (KIND_WHISPER, "method"),
    (TWILIO, "Number", "statusCallback"): (KIND_DIAL_STATUS, "statusCallbackMethod"),
    (TWILIO, "Client", "url"): (KIND_WHISPER, "method"),
    (TWILIO, "Client", "statusCallback"): (KIND_DIAL_STATUS, "statusCallbackMethod"),
    (TWILIO, "Sip", "url"): (KIND_WHISPER, "method"),
    (TWILIO, "Sip", "statusCallback"): (KIND_DIAL_STATUS, "statusCallbackMethod"),
    (TWILIO, "Conference", "waitUrl"): (KIND_WAIT, "waitMethod"),
    (TWILIO, "Conference", "statusCallback"): (KIND_CONFERENCE_STATUS, "statusCallbackMethod"),
    (TWILIO, "Redirect", TEXT): (KIND_REDIRECT, "method"),
    (TWILIO, "Sms", "action"): (KIND_ACTION, "method"),
    (TWILIO, "Sms", "statusCallback"): (KIND_MESSAGE_STATUS, None),
    (TWILIO, "Message", "action"): (KIND_MESSAGE_STATUS, "method"),
    (TWILIO, "Message", "statusCallback"): (KIND_MESSAGE_STATUS, None),
    (TWILIO, "Recording", "recordingStatusCallback"): (
        KIND_RECORDING_STATUS,
        "recordingStatusCallbackMethod",
    ),
    (TWILIO, "Enqueue", "action"): (KIND_ACTION, "method"),
    (TWILIO, "Enqueue", "waitUrl"): (KIND_WAIT, "waitUrlMethod"),
    (PLIVO, "GetDigits", "action"): (KIND_ACTION, "method"),
    (PLIVO, "GetInput", "action"): (KIND_ACTION, "method"),
    (PLIVO, "GetInput", "interimSpeechResultsCallback"): (
        KIND_PARTIAL_SPEECH,
        "interimSpeechResultsCallbackMethod",
    ),
    (PLIVO, "Record", "action"): (KIND_ACTION, "method"),
    (PLIVO, "Record", "callbackUrl"): (KIND_RECORDING_STATUS, "callbackMethod"),
    (PLIVO, "Record", "transcriptionUrl"): (KIND_TRANSCRIPTION, "transcriptionMethod"),
    (PLIVO, "Dial", "action"): (KIND_ACTION, "method"),
    (PLIVO, "Dial", "callbackUrl"): (KIND_DIAL_STATUS, "callbackMethod"),
    (PLIVO, "Dial", "confirmSound"): (KIND_WHISPER, None),
    (PLIVO, "Conference", "action"): (KIND_ACTION, "method"),
    (PLIVO, "Conference", "callbackUrl"): (KIND_CONFERENCE_STATUS, "callbackMethod"),
    (PLIVO, "Conference", "waitSound"): (KIND_WAIT, None),
    (PLIVO, "Redirect", TEXT): (KIND_REDIRECT, "method"),
    (PLIVO, "Message", "callbackUrl"): (KIND_MESSAGE_STATUS, "callbackMethod"),
}

# --- Dropped on purpose: (style, element, attribute) → why (the note's detail) ------------------
# Any other attribute a handler does not use is dropped with a generic note; none is lost
# silently.

DROPPED: Final[dict[tuple[str, str, str], str]] = {
    (TWILIO, "Gather", "actionOnEmptyResult"): "Plivo calls the action only with input",
    (TWILIO, "Gather", "bargeIn"): "Plivo prompts always stop on input",
    (TWILIO, "Gather", "maxSpeechTime"): "bounded by executionTimeout instead",
    (TWILIO, "Gather", "enhanced"): "no enhanced model on Plivo",
    (TWILIO, "Gather", "debug"): "no Plivo equivalent",
    (TWILIO, "Dial", "answerOnBridge"): "Plivo answers before dialling",
    (TWILIO, "Dial", "sequential"): "numbers are dialled simultaneously",
    (TWILIO, "Dial", "trim"): "Plivo does not trim recordings",
    (TWILIO, "Dial", "referUrl"): "SIP REFER is not supported",
    (TWILIO, "Dial", "referMethod"): "SIP REFER is not supported",
    (TWILIO, "Dial", "events"): "no Plivo equivalent",
    (TWILIO, "Dial", "recordingTrack"): "Plivo records both tracks",
    (TWILIO, "Dial", "recordingStatusCallbackEvent"): "Plivo reports the finished recording",
    (TWILIO, "Dial", "recordingConfigurationId"): "no Plivo equivalent",
    (TWILIO, "Record", "trim"): "Plivo does not trim recordings",
    (TWILIO, "Record", "recordingStatusCallbackEvent"): "Plivo reports the finished recording",
    (TWILIO, "Record", "recordingConfigurationId"): "no Plivo equivalent",
    (TWILIO, "Number", "statusCallbackEvent"): "Plivo reports its own dial events",
    (TWILIO, "Number", "byoc"): "no Plivo equivalent",
    (TWILIO, "Conference", "coach"): "no Plivo equivalent",
    (TWILIO, "Conference", "region"): "no Plivo equivalent",
    (TWILIO, "Conference", "participantLabel"): "no Plivo equivalent",
    (TWILIO, "Conference", "statusCallbackEvent"): "Plivo reports its own conference events",
    (TWILIO, "Conference", "trim"): "Plivo does not trim recordings",
    (TWILIO, "Conference", "recordingStatusCallback"): "no per-recording callback on Plivo",
    (TWILIO, "Conference", "eventCallbackUrl"): "no Plivo equivalent",
    (TWILIO, "Conference", "jitterBufferSize"): "no Plivo equivalent",
    (TWILIO, "Recording", "recordingStatusCallbackEvent"): "Plivo reports the finished recording",
    (TWILIO, "Recording", "track"): "Plivo records both tracks",
    (TWILIO, "Recording", "trim"): "Plivo does not trim recordings",
    (PLIVO, "GetDigits", "digitTimeout"): "Twilio waits `timeout` between digits",
    (PLIVO, "GetDigits", "playBeep"): "no TwiML equivalent",
    (PLIVO, "GetDigits", "log"): "no TwiML equivalent",
    (PLIVO, "GetInput", "log"): "no TwiML equivalent",
    (PLIVO, "GetInput", "executionTimeout"): "Twilio has no total input time limit",
    (PLIVO, "Record", "fileFormat"): "Twilio serves both formats from the recording URL",
    (PLIVO, "Record", "transcriptionReportType"): "no TwiML equivalent",
    (PLIVO, "Dial", "callerName"): "no TwiML equivalent",
    (PLIVO, "Dial", "confirmKey"): "the called party is connected without confirming",
    (PLIVO, "Dial", "confirmTimeout"): "no TwiML equivalent",
    (PLIVO, "Dial", "dialMusic"): "Twilio plays the ringback tone",
    (PLIVO, "Dial", "digitsMatch"): "no TwiML equivalent",
    (PLIVO, "Dial", "digitsMatchBLeg"): "no TwiML equivalent",
    (PLIVO, "Dial", "sipHeaders"): "no TwiML equivalent",
    (PLIVO, "Number", "sendOnPreanswer"): "digits are sent after answer",
    (PLIVO, "Number", "sendDigitsMode"): "no TwiML equivalent",
    (PLIVO, "User", "sendDigits"): "TwiML sends digits to numbers only",
    (PLIVO, "User", "sendOnPreanswer"): "TwiML sends digits to numbers only",
    (PLIVO, "User", "sipHeaders"): "no TwiML equivalent",
    (PLIVO, "Conference", "stayAlone"): "Twilio keeps a lone participant waiting",
    (PLIVO, "Conference", "recordFileFormat"): "Twilio serves both formats",
    (PLIVO, "Conference", "digitsMatch"): "no TwiML equivalent",
    (PLIVO, "Conference", "floorEvent"): "no TwiML equivalent",
    (PLIVO, "Conference", "relayDTMF"): "no TwiML equivalent",
    (PLIVO, "Conference", "sendDigits"): "no TwiML equivalent",
    (PLIVO, "Conference", "recordWhenAlone"): "no TwiML equivalent",
    (PLIVO, "Conference", "transcriptionType"): "no TwiML equivalent",
    (PLIVO, "Conference", "transcriptionUrl"): "no TwiML equivalent",
    (PLIVO, "Conference", "transcriptionMethod"): "no TwiML equivalent",
    (PLIVO, "Wait", "minSilence"): "only meaningful with silence detection",
    (TWILIO, "Client", "statusCallbackEvent"): "Plivo reports its own dial events",
    (TWILIO, "Sip", "statusCallbackEvent"): "Plivo reports its own dial events",
    **{
        (TWILIO, noun, name): "answering machine detection is not supported"
        for noun in ("Number", "Sip")
        for name in _AMD_ATTRIBUTES
    },
}

GENERIC_DROP: Final = "no equivalent in the other dialect"

# --- Numbers and identities --------------------------------------------------------------------

E164_MIN_DIGITS: Final = 8
"""Plivo writes numbers without ``+``; TwiML with it. Digit strings shorter than this (short
codes) are left as they are rather than guessed into international numbers."""

PHONE_PUNCTUATION: Final = " -().\t"
"""Characters a TwiML number may be formatted with; removed before it is written for Plivo."""

DEFAULT_CLIENT_DOMAIN: Final = "phone.plivo.com"

DIAL_STATUS_EVENTS: Final = "answered completed"
"""TwiML status events asked for when a Plivo Dial ``callbackUrl`` becomes per-number
``statusCallback``: Plivo reports answer and hangup of the dialled leg."""

CONFERENCE_STATUS_EVENTS: Final = "join leave"
"""TwiML conference events asked for in place of Plivo's enter/exit conference callbacks."""
