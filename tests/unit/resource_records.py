"""Realistic upstream records of the resources beyond messages and calls, as the providers' docs
and the mocks give them: what the recording, media and number pipelines are for."""

from __future__ import annotations

from typing import Any

# Plivo (the Twilio façade's upstream).
PLIVO_RECORDING: dict[str, Any] = {
    "add_time": "2020-08-05 16:15:15.852059+05:30",
    "api_id": "7abf0744-1ca0-11e4-a2d1-22000ac5040c",
    "call_uuid": "c2c128e2-1c8c-11e4-9bff-1db8a9db0432",
    "conference_name": "noname",
    "recording_duration_ms": "345100.00000",
    "recording_end_ms": "1596624309007.00000",
    "recording_format": "mp3",
    "recording_id": "c2186400-1c8c-11e4-a664-0026b945b52a",
    "recording_start_ms": "1596623963907.00000",
    "recording_type": "conference",
    "recording_url": "http://s3.amazonaws.com/recordings_2013/c2186400.mp3",
    "resource_uri": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Recording/c2186400-1c8c-11e4-a664-0026b945b52a/",
    "rounded_recording_duration": 360,
}
PLIVO_MEDIA: dict[str, Any] = {
    "content_type": "image/jpeg",
    "media_id": "801c2056-33ab-499c-80ef-58b574a462a2",
    "media_url": "https://media.plivo.com/Account/MAXXXXXXXXXXXXXXXXXX/Message/x/Media/y",
    "message_uuid": "c2622385-3f8c-46b4-ab7d-faa6abba0a26",
    "size": 85277,
}
PLIVO_NUMBER: dict[str, Any] = {
    "added_on": "2014-02-14",
    "alias": None,
    "application": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Application/29986316244302815/",
    "carrier": "Plivo",
    "monthly_rental_rate": "0.80000",
    "number": "17609915566",
    "number_type": "local",
    "region": "California, UNITED STATES",
    "resource_uri": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Number/17609915566/",
    "sms_enabled": True,
    "sms_rate": "0.00000",
    "sub_account": None,
    "voice_enabled": True,
    "voice_rate": "0.00850",
}

# Twilio (the Plivo façade's upstream).
TWILIO_NUMBER: dict[str, Any] = {
    "account_sid": "AC" + "a" * 32,
    "address_requirements": "none",
    "capabilities": {"voice": True, "sms": False, "mms": True, "fax": False},
    "date_created": "Thu, 30 Jul 2015 23:19:04 +0000",
    "friendly_name": "(808) 925-5327",
    "phone_number": "+18089255327",
    "sid": "PN" + "a" * 32,
    "voice_application_sid": "",
    "status": "in-use",
    "type": "local",
}
TWILIO_AVAILABLE_NUMBER: dict[str, Any] = {
    "address_requirements": "none",
    "beta": False,
    "capabilities": {"mms": True, "sms": False, "voice": True},
    "friendly_name": "(808) 925-1571",
    "iso_country": "US",
    "lata": "834",
    "latitude": "19.720000",
    "locality": "Hilo",
    "longitude": "-155.090000",
    "phone_number": "+18089251571",
    "postal_code": "96720",
    "rate_center": "HILO",
    "region": "HI",
}
