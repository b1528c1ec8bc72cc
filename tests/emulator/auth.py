"""Google's OAuth service-account flow: keys, the JWT-bearer grant, bearer tokens."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

GOOGLE_AUDIENCES = (
    "https://oauth2.googleapis.com/token",
    "https://accounts.google.com/o/oauth2/token",
)
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass
class Account:
    email: str
    key_id: str
    private_pem: str
    public_pem: str


@dataclass
class Auth:
    token_lifetime: int = 3600
    accounts: dict[str, Account] = field(default_factory=dict)  # key id → account
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → (email, expiry)

    def add_account(self, email: str) -> Account:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        account = Account(email, secrets.token_hex(20), private, public)
        self.accounts[account.key_id] = account
        return account

    def key_file(self, account: Account, token_uri: str) -> dict:
        """A service-account key in the format Google's console downloads."""
        project = account.email.split("@")[1].split(".")[0]
        return {
            "type": "service_account",
            "project_id": project,
            "private_key_id": account.key_id,
            "private_key": account.private_pem,
            "client_email": account.email,
            "client_id": str(int(account.key_id[:12], 16)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + account.email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }

    def grant(self, form: dict[str, list[str]], token_uri: str) -> tuple[int, dict]:
        """The token endpoint: verify the signed assertion, hand out an access token."""
        if form.get("grant_type", [""])[0] != GRANT:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type",
            }
        assertion = form.get("assertion", [""])[0]
        try:
            header = jwt.decode_header(assertion)
            account = self.accounts.get(header.get("kid", ""))
            if account is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Invalid JWT Signature.",
                }
            # google-auth signs for Google's own token endpoint whatever token_uri it posts to.
            audiences = [token_uri, *GOOGLE_AUDIENCES]
            claims = jwt.decode(assertion, certs=account.public_pem, audience=audiences)
        except ValueError as err:
            description = "Invalid JWT Signature." if "signature" in str(err).lower() else str(err)
            return 400, {"error": "invalid_grant", "error_description": description}
        if claims.get("iss") != account.email:
            return 400, {"error": "invalid_grant", "error_description": "Invalid issuer."}
        token = "ya29.emu-" + secrets.token_urlsafe(32)
        self.tokens[token] = (account.email, time.time() + self.token_lifetime)
        return 200, {
            "access_token": token,
            "expires_in": self.token_lifetime - 1,
            "token_type": "Bearer",
        }

    def user(self, authorization: str | None) -> str | None:
        """The account a bearer token belongs to, if it is valid and unexpired."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        found = self.tokens.get(authorization[7:].strip())
        if found is None or found[1] < time.time():
            return None
        return found[0]
