"""A Twilio-style app that takes Dialect's callbacks: run it beside `make run`, then create a
message with status_callback="http://127.0.0.1:5000/status" or a call with
url="http://127.0.0.1:5000/voice" through the demo (see README.md)."""

import os

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

validator = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", "demo-twilio-auth-token"))


async def hook(request: web.Request) -> web.Response:
    form = {k: str(v) for k, v in (await request.post()).items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    if not validator.validate(str(request.url), form, signature):
        return web.Response(status=403, text="bad signature")
    print(request.path, form, flush=True)
    reply = VoiceResponse()
    if request.path == "/voice":
        reply.gather(action="/voice/digits", num_digits=4).say("Enter four digits")
    elif request.path == "/voice/digits":
        reply.say(f"You pressed {form.get('Digits')}. Goodbye.")
    return web.Response(text=str(reply), content_type="text/xml")


app = web.Application()
app.router.add_route("*", "/{path:.*}", hook)
if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
