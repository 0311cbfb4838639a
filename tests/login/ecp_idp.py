"""A SAML 2.0 IdP speaking the ECP profile (SOAP binding, HTTP Basic authentication), built on
pysaml2's IdP (`saml2.server.Server`), for the `rambridge login --ecp` tests. TEST ONLY.

    python ecp_idp.py CONFIG.json

CONFIG.json:
    {"sp_entity_id": "...", "sp_acs": "...",          # rambridge's role SSO SP and ACS URL
     "key_file": "...pem", "cert_file": "...pem",      # the IdP's signing key pair
     "users": {"alice": {"password": "...", "session_name": "alice",
                         "roles": ["<role ARN>,<provider ARN>", ...]}}}

Listens on 127.0.0.1 (random port) and prints `listening on http://127.0.0.1:PORT` first.
Endpoints:
    GET  /metadata   the IdP's SAML metadata (for IMS CreateSAMLProvider)
    POST /ecp        ECP single sign-on: a SOAP envelope carrying an AuthnRequest, HTTP Basic
                     credentials; answers the SOAP envelope with ecp:Response and the signed
                     samlp:Response (Alibaba role attributes, spec §8.1), or 401
    GET  /stats      {"ecp_requests": N, "responses": M} (what the cache tests count)

pysaml2 signs with Debian's xmlsec1 (RSA-SHA256, SHA-256 digests, exclusive c14n)."""

import base64
import json
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from saml2 import BINDING_PAOS, BINDING_SOAP
from saml2.profile import ecp as ecp_ns
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.pack import make_soap_enveloped_saml_thingy
from saml2.s_utils import UnknownPrincipal
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

ROLE_ATTR = "https://www.aliyun.com/SAML-Role/Attributes/Role"
SESSION_ATTR = "https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def sp_metadata(entity_id, acs):
    """rambridge's role SSO SP as this IdP knows it: the ACS reachable by PAOS (ECP)."""
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"
      AuthnRequestsSigned="false" WantAssertionsSigned="true">
    <md:NameIDFormat>{NAMEID_FORMAT_PERSISTENT}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{BINDING_PAOS}" Location="{acs}" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def build_idp(base, cfg):
    xmlsec = shutil.which("xmlsec1")
    if xmlsec is None:
        sys.exit("xmlsec1 is not installed: apt-get install -y xmlsec1")
    conf = IdPConfig()
    conf.load({
        "entityid": f"{base}/idp",
        "service": {"idp": {
            "name": "rambridge test ECP IdP",
            "endpoints": {"single_sign_on_service": [(f"{base}/ecp", BINDING_SOAP)]},
            "policy": {"default": {
                "lifetime": {"minutes": 5},
                "attribute_restrictions": None,
                "name_form": NAME_FORMAT_URI,
            }},
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            "want_authn_requests_signed": False,
        }},
        "key_file": cfg["key_file"],
        "cert_file": cfg["cert_file"],
        "xmlsec_binary": xmlsec,
        "metadata": {"inline": [sp_metadata(cfg["sp_entity_id"], cfg["sp_acs"])]},
    })
    return Server(config=conf)


class Handler(BaseHTTPRequestHandler):
    idp = None
    cfg = None
    stats = {"ecp_requests": 0, "responses": 0}
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        sys.stderr.write("ecp_idp: " + (fmt % args) + "\n")

    def reply(self, status, body, content_type="text/plain; charset=utf-8", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/metadata":
            self.reply(200, create_metadata_string(None, config=self.idp.config, valid=24),
                       "application/samlmetadata+xml")
        elif self.path == "/stats":
            with self.lock:
                self.reply(200, json.dumps(self.stats), "application/json")
        else:
            self.reply(404, "not found\n")

    def authenticated_user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        entry = self.cfg["users"].get(user)
        if entry is None or entry["password"] != password:
            return None
        return user

    def do_POST(self):
        try:
            self.ecp()
        except Exception as e:  # report, never drop the connection
            import traceback
            traceback.print_exc()
            self.reply(500, soap_fault(f"IdP error: {e}"), "text/xml")

    def ecp(self):
        if self.path != "/ecp":
            self.reply(404, "not found\n")
            return
        with self.lock:
            self.stats["ecp_requests"] += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        user = self.authenticated_user()
        if user is None:
            self.reply(401, "unknown user or wrong password\n",
                       headers=[("WWW-Authenticate", 'Basic realm="ecp"')])
            return
        try:
            request = self.idp.parse_authn_request(body, BINDING_SOAP)
            args = self.idp.response_args(request.message, [BINDING_PAOS])
        except Exception as e:  # a malformed or unknown request: a SOAP fault
            self.reply(500, soap_fault(f"cannot process the AuthnRequest: {e}"), "text/xml")
            return
        entry = self.cfg["users"][user]
        identity = {ROLE_ATTR: entry["roles"], SESSION_ATTR: [entry["session_name"]]}
        try:
            response = self.idp.create_authn_response(
                identity,
                userid=user,
                name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=user),
                authn={"class_ref": PASSWORD_PROTECTED, "authn_auth": self.idp.config.entityid},
                sign_assertion=True,
                sign_response=False,
                sign_alg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256,
                **args,
            )
        except UnknownPrincipal as e:
            self.reply(500, soap_fault(str(e)), "text/xml")
            return
        envelope = make_soap_enveloped_saml_thingy(
            str(response),
            [ecp_ns.Response(assertion_consumer_service_url=args["destination"])],
        )
        with self.lock:
            self.stats["responses"] += 1
        self.reply(200, envelope, "text/xml; charset=utf-8")


def soap_fault(reason):
    from xml.sax.saxutils import escape
    return ("<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body><S:Fault>"
            f"<faultcode>S:Server</faultcode><faultstring>{escape(reason)}</faultstring>"
            "</S:Fault></S:Body></S:Envelope>")


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    Handler.cfg = cfg
    Handler.idp = build_idp(base, cfg)
    print(f"listening on {base}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
