"""The labelled corpus of `ember bench privacy`: prompts generated from templates, as
Presidio's evaluator makes them (``{{email}}``, ``{{iban}}``… filled by Faker), plus
secrets in the places people paste them (.env files, code, curl, YAML, prose) and
benign look-alikes that must not be flagged (git SHAs, UUIDs, versions, dates, sums,
code that names a password without holding one).

Every value's place is recorded as it is inserted, so the labels are exact. Seeded:
the same seed gives the same prompts on every machine. The values are synthetic:
Faker's inventions and random strings in each secret's format.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker
from stdnum import verhoeff

DEFAULT_SEED = 20261201
_SLOT = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Prompt:
    id: str
    family: str  # pii, secret, benign
    text: str
    spans: tuple[Span, ...]


# A slot's generator returns (value, kind); kind None: filler that is not protected.
Slot = Callable[[], tuple[str, str | None]]

PII_TEMPLATES = (
    "Hi, I'm {{name}}. Please send the contract to {{email}} before Friday.",
    "Can you rewrite this more politely: 'Call me at {{phone}} or I cancel.'",
    "My card {{card}} was charged twice by {{company}}. Draft a complaint.",
    "Please wire the deposit to IBAN {{iban}} (account holder {{name}}).",
    "My SSN is {{ssn}} — is it safe to put it on this form?",
    "Summarise: {{name}} ({{email}}, {{phone}}) asked about invoice {{int}} from {{city}}.",
    "Contact details for the new hire: {{name}}, mobile {{phone}}, mail {{email}}.",
    "Fix the grammar: 'me and {{name}} was at {{city}}, reach us on {{phone}}'",
    "Is {{card}} a Visa or a Mastercard? It expires in {{month}}.",
    "Translate to French: please pay into {{iban}} by the {{day}}th.",
    "Customer record: name={{name}}; email={{email}}; card={{card}}",
    "For the HR file: social security number {{ssn}}, start date {{date}}.",
    "Here is my Dutch BSN {{bsn}}; which tax form do I need?",
    "My codice fiscale is {{codice_fiscale}}, can you check it is well formed?",
    "Numéro de sécurité sociale : {{nir}}. Que faire si je l'ai perdu ?",
    "Mi DNI es {{dni}} y mi correo {{email}}.",
    "NIE {{nie}} — how long is a Spanish residence card valid?",
    "My SIN is {{sin}}, I moved to {{city}}, which documents do I update?",
    "Aadhaar {{aadhaar}} linked to mobile {{phone}}: how do I unlink it?",
    "CPF {{cpf}} — preciso declarar imposto este ano?",
    "NHS number {{nhs}}: how do I register with a new GP in {{city}}?",
    "The patient's ID number is {{ssn}} and the emergency contact is {{phone}}.",
    "Forward all mail for {{name}} to {{email}} and cc {{email}}.",
    "{{name}} wrote: 'text me at {{phone}} once the parcel for {{city}} ships'.",
    "Refund to card {{card}} or, failing that, to IBAN {{iban}}.",
)

SECRET_TEMPLATES = (
    "My .env has AWS_ACCESS_KEY_ID={{aws_key_id}} and "
    "AWS_SECRET_ACCESS_KEY={{aws_secret}} but boto3 says InvalidClientTokenId. Why?",
    'aws_secret_access_key = "{{aws_secret}}"\nregion = "eu-west-1"\nWhat is wrong here?',
    "git push fails with 403. I set the remote with my token {{github_token}} — help?",
    'headers = {"Authorization": "token {{github_token}}"}\nWhy does this 401?',
    "Our bot uses SLACK_BOT_TOKEN={{slack_token}}; messages never arrive.",
    'stripe.api_key = "{{stripe_key}}"\nHow do I create a refund in Python?',
    "Is this private key RSA or EC?\n{{private_key}}\nI need it for nginx.",
    "Decode this JWT and tell me when it expires: {{jwt}}",
    "curl -H 'Authorization: Bearer {{jwt}}' https://api.internal/v1/me returns 403.",
    'db:\n  host: db.internal\n  user: app\n  password: "{{password}}"\nIs this YAML valid?',
    'password = "{{password}}"\nconn = psycopg.connect(host="db", password=password)',
    "DB_PASSWORD={{password}}\nDB_HOST=localhost\nWhy can't Django read these?",
    "My connection string is postgres://app:{{url_password}}@db.internal:5432/shop and "
    "it times out.",
    "Clone fails: git clone https://deploy:{{url_password}}@git.internal/repo.git",
    '{"client_id": "web", "access_token": "{{high_entropy}}", "expires_in": 3600}\n'
    "How do I refresh this?",
    "curl -H 'X-Api-Key: {{hex_key}}' https://api.internal/v2/orders",
    "export OPENAI_API_KEY={{openai_key}}\nThe SDK still says no key was found.",
    'GOOGLE_MAPS_KEY = "{{google_key}}"  # why does the map stay grey?',
    "gitlab-runner register --token {{gitlab_token}} fails with 'invalid token'.",
    "SENDGRID_API_KEY={{sendgrid_key}} — e-mails bounce, what DNS records do I need?",
    'const config = { secret: "{{password}}", session: { cookie: true } };',
    "I committed {{github_token}} to a public repo by mistake. What now?",
    "Here's my service account file:\n"
    '{"type": "service_account", "private_key": "{{pem_inline}}", "client_email": '
    '"{{email}}"}',
    "kubectl create secret generic api --from-literal=api_key={{keyword_secret}}",
    "Authorization: Bearer {{high_entropy}}\nWhy does the gateway drop this header?",
)

BENIGN_TEMPLATES = (
    "What changed in commit {{sha}}? The diff touches {{int}} files.",
    "git rebase -i {{short_sha}} keeps failing with a conflict in setup.py.",
    "The request id was {{uuid}}; can you explain the 500 error?",
    "Upgrade from version {{version}} to {{version}} broke my build.",
    "What is {{int}} * {{int}} + {{int}}?",
    "Convert {{float}} km to miles and round to 2 decimals.",
    "The meeting moved from {{date}} to {{date}} at {{time}}.",
    "Order {{order}} shipped on {{date}}; when will it arrive in {{city}}?",
    "ISBN {{isbn}} — is this the second edition?",
    "My laptop at {{private_ip}} cannot reach the printer at {{private_ip}}.",
    'password = os.environ["DB_PASSWORD"]\nIs reading secrets like this safe?',
    'api_key = "<YOUR_API_KEY>"  # replace before running',
    "def check_password(password: str) -> bool:\n    return len(password) >= 12",
    "db:\n  password: ${DB_PASSWORD}\n  host: {{private_ip}}",
    "token = None\nif token is None:\n    token = fetch_token()",
    'docker pull python@sha256:{{sha256}} fails with "manifest unknown".',
    "The SHA-256 of the release tarball is {{sha256}}; how do I verify it?",
    "In {{year}}, revenue grew from ${{money}} to ${{money}}.",
    "The colour {{hex_colour}} looks too dark on the dashboard.",
    "Explain this regex: ^[A-Z]{2}\\d{2}[A-Z0-9]{11,30}$",
    "Why does {{int}} / {{int}} give {{float}} in Python 3?",
    "I forgot my password: what is the safest way to reset it?",
    "Set the secret: in the settings page, then restart. Which step did I miss?",
    "The build {{build}} took {{int}} seconds; cache hit rate was {{int}}%.",
    "Latitude {{lat}}, longitude {{lng}} — which country is this?",
    "Write a haiku about {{city}} in the rain.",
    "Pi to 15 digits is 3.141592653589793; what is the 16th?",
    "Our invoice numbers look like INV-{{year}}-{{int}}; write a regex for them.",
    "The timestamp {{timestamp}} — what date is that in UTC?",
    "npm ERR! integrity sha512-{{b64_hash}} mismatch. How do I fix the lockfile?",
)

# Written after the detectors were tuned on the banks above, and never tuned on:
# other phrasings, other files, other places secrets are pasted.
HELDOUT_PII_TEMPLATES = (
    "Draft a reply to {{name}} <{{email}}> saying the refund is on its way.",
    "Our office number changed to {{phone}}; update the footer of this e-mail.",
    "Paid with {{card_dashed}} at {{company}} — how do I dispute the charge?",
    "Beneficiary: {{name}}\nIBAN: {{iban}}\nReference: rent {{month}}",
    "Fill in the W-4 for me: name {{name}}, SSN {{ssn}}, filing status single.",
    "Can you check this list for duplicates? {{email}}, {{email}}, {{email}}",
    "Please text {{name}} on {{phone}} that the keys are under the mat.",
    "Fraud alert says my card ending {{card}} was used in {{city}}. What now?",
    "Meu CPF é {{cpf}}, como emito a segunda via do boleto?",
    "Mijn BSN-nummer is {{bsn}} en mijn IBAN {{iban}}.",
    "Codice fiscale del cliente: {{codice_fiscale}}; telefono {{phone}}.",
    "The applicant's Aadhaar number is {{aadhaar}}; verify the format.",
    "Patient {{name}}, NHS no. {{nhs}}, referred by Dr {{name}}.",
    "Assurance maladie : mon numéro est le {{nir}}, c'est urgent.",
    "Social Insurance Number {{sin}} — which box of the T4 is it?",
    "Ping me at {{email}} or on WhatsApp {{phone}}.",
    "Vendor bank details: {{iban}} ({{company}}), card on file {{card}}.",
    "Write a cover letter for {{name}}, reachable at {{phone}} and {{email}}.",
    "Her DNI is {{dni}}, can she travel to {{city}} with it?",
    "Invoice to {{company}}, attn. {{name}}, {{email}}, VAT exempt.",
)
HELDOUT_SECRET_TEMPLATES = (
    "~/.aws/credentials:\n[default]\naws_access_key_id = {{aws_key_id}}\n"
    "aws_secret_access_key = {{aws_secret}}\nWhy does the CLI ignore it?",
    ".npmrc: //npm.internal.example/:_authToken={{npm_token}}\nnpm publish says E401.",
    "docker login -u ci -p '{{password}}' registry.internal fails, why?",
    "spring.datasource.password={{password}}\nspring.datasource.url=jdbc:mysql://db/shop",
    'requests.get(url, auth=("svc", "{{password}}"))  # gives 401',
    "export TF_VAR_db_password='{{password}}'\nterraform plan still asks for it.",
    "Webhook: {{slack_webhook}} posts nothing.",
    "ssh-keygen gave me this, is it safe to share?\n{{private_key}}",
    "Cookie: session={{jwt}}; theme=dark\nWhy is the user logged out?",
    "Our CI uses GH_TOKEN={{github_token}} and the release job fails.",
    'STRIPE_SECRET_KEY="{{stripe_key}}"\nwebhooks return 400',
    "Set the header 'Authorization: Bearer {{high_entropy}}' and the proxy strips it.",
    'const client = new OpenAI({ apiKey: "{{openai_key}}" });',
    "git remote set-url origin https://oauth2:{{url_password}}@gitlab.internal/app.git",
    "mysql -u root -p{{url_password}} -h 127.0.0.1 → access denied",
    "The app reads SECRET_TOKEN={{hex_secret}} from the environment; rotate it how?",
    "HEROKU_API_KEY={{uuid_key}} — the deploy says unauthorized.",
    "config.yaml:\n  signing_key: {{high_entropy}}\n  issuer: ember",
    "gitlab token {{gitlab_token}} expired — how do I make one that does not?",
    "sendgrid says 403 with key {{sendgrid_key}}",
)
HELDOUT_BENIGN_TEMPLATES = (
    "docker ps shows container {{short_hex}} restarting every {{int}} seconds.",
    "The pod web-{{short_hex}}-x2k9p is in CrashLoopBackOff.",
    "Windows update fails with error 0x{{hex8}}.",
    "Page {{int}} of {{int}} is missing from the PDF export.",
    "Ship to ZIP {{zip4}} — is that in the delivery area?",
    "hash = hashlib.sha256(password.encode()).hexdigest()  # is this enough?",
    'API_KEY = os.getenv("API_KEY")\nif not API_KEY:\n    raise SystemExit("set it")',
    "The model's context is {{int}} tokens and the session_id is {{int}}.",
    "Release {{version}}+build.{{int}} is tagged {{sha}}.",
    "My password reset link expired after {{int}} minutes, is that normal?",
    'ETag: "{{md5}}" — why does the cache never hit?',
    "Compare {{float}} and {{float}}: which is larger?",
    "Merge request !{{int}} changes {{int}} lines in src/auth/token.py.",
    "The fiscal year {{year}} ended on {{date}}.",
    "Explain what a JWT is and why the signature matters.",
    "secret_santa = ['Ann', 'Bob', 'Chidi']  # shuffle this list fairly",
    "Temperature {{float}} °C at {{time}} on {{date}}.",
    "Call stack depth reached {{int}}; the recursion never ends.",
    "Coordinates {{lat}}, {{lng}} were logged at {{timestamp}}.",
    "Checksum {{sha256}} matches the one on the download page.",
)

_PHONE_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_IN")
_IBAN_LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL")
_B64 = string.ascii_letters + string.digits + "+/"
_ALNUM = string.ascii_letters + string.digits


class _Generator:
    """Slot values from Faker (seeded) and the seeded random secrets."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for i, locale in enumerate(
            (
                "en_US",
                "en_GB",
                "de_DE",
                "fr_FR",
                "es_ES",
                "it_IT",
                "nl_NL",
                "en_IN",
                "en_CA",
                "pt_BR",
            )
        ):
            faker = Faker(locale)
            faker.seed_instance(seed + i)
            self.fakers[locale] = faker
        self.us = self.fakers["en_US"]

    def faker(self, locales: tuple[str, ...]) -> Faker:
        return self.fakers[self.rng.choice(locales)]

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def slots(self) -> dict[str, Slot]:
        r, us, c = self.rng, self.us, self.chars
        return {
            # personal data
            "name": lambda: (self.faker(_PHONE_LOCALES).name(), "pii.person"),
            "email": lambda: (r.choice((us.email, us.free_email, us.company_email))(), "pii.email"),
            "phone": lambda: (self.faker(_PHONE_LOCALES).phone_number(), "pii.phone"),
            "card": lambda: (self.card(), "pii.card"),
            "iban": lambda: (self.iban(), "pii.iban"),
            "ssn": lambda: (us.ssn(), "pii.national_id"),
            "bsn": lambda: (self.fakers["nl_NL"].ssn(), "pii.national_id"),
            "codice_fiscale": lambda: (self.fakers["it_IT"].ssn(), "pii.national_id"),
            "nir": lambda: (self.fakers["fr_FR"].ssn(), "pii.national_id"),
            "dni": lambda: (self.fakers["es_ES"].nif(), "pii.national_id"),
            "nie": lambda: (self.fakers["es_ES"].nie(), "pii.national_id"),
            "sin": lambda: (self.fakers["en_CA"].ssn(), "pii.national_id"),
            "aadhaar": lambda: (self.aadhaar(), "pii.national_id"),
            "cpf": lambda: (self.fakers["pt_BR"].cpf(), "pii.national_id"),
            "nhs": lambda: (self.nhs(), "pii.national_id"),
            # secrets
            "aws_key_id": lambda: (
                "AKIA" + c(string.ascii_uppercase + "234567", 16),
                "secret.aws_key",
            ),
            "aws_secret": lambda: (c(_B64, 40), "secret.aws_key"),
            "github_token": lambda: (self.github(), "secret.github_token"),
            "slack_token": lambda: (
                f"xoxb-{c(string.digits, 12)}-{c(string.digits, 13)}-{c(_ALNUM, 24)}",
                "secret.slack_token",
            ),
            "stripe_key": lambda: (
                r.choice(("sk_live_", "rk_live_")) + c(_ALNUM, r.choice((24, 34, 99))),
                "secret.stripe_key",
            ),
            "private_key": lambda: (self.pem("\n"), "secret.private_key"),
            "pem_inline": lambda: (self.pem("\\n"), "secret.private_key"),
            "jwt": lambda: (self.jwt(), "secret.jwt"),
            "password": lambda: (us.password(length=r.randint(10, 18)), "secret.password"),
            "url_password": lambda: (
                us.password(length=r.randint(10, 16), special_chars=False),
                "secret.password",
            ),
            "high_entropy": lambda: (c(_ALNUM + "-_", r.randint(32, 48)), "secret.high_entropy"),
            "keyword_secret": lambda: (c(_ALNUM + "-_", r.randint(32, 48)), "secret.password"),
            "card_dashed": lambda: (self.card("-"), "pii.card"),
            "npm_token": lambda: ("npm_" + c(_ALNUM, 36), "secret.npm_token"),
            "slack_webhook": lambda: (
                "https://hooks.slack.com/services/"
                f"T{c(string.ascii_uppercase + string.digits, 8)}/B{c(string.ascii_uppercase, 8)}"
                f"/{c(_ALNUM, 24)}",
                "secret.slack_token",
            ),
            "uuid_key": lambda: (us.uuid4(), "secret.password"),  # after *_API_KEY
            "short_hex": lambda: (us.sha1()[: r.choice((9, 10, 12))], None),
            "hex8": lambda: (c("0123456789ABCDEF", 8), None),
            "zip4": lambda: (f"{r.randint(10000, 99999)}-{r.randint(1000, 9999)}", None),
            "md5": lambda: (us.md5(), None),
            # a name in detect-secrets' keyword list: secret.password by definition
            "hex_secret": lambda: (c("0123456789abcdef", 32), "secret.password"),
            "hex_key": lambda: (c("0123456789abcdef", 32), "secret.high_entropy"),
            "openai_key": lambda: (
                r.choice(("sk-", "sk-proj-")) + c(_ALNUM, 20) + "T3BlbkFJ" + c(_ALNUM, 20),
                "secret.openai_key",
            ),
            "google_key": lambda: ("AIza" + c(_ALNUM + "-_", 35), "secret.google_key"),
            "gitlab_token": lambda: ("glpat-" + c(_ALNUM + "-_", 20), "secret.gitlab_token"),
            "sendgrid_key": lambda: (
                f"SG.{c(_ALNUM + '-_', 22)}.{c(_ALNUM + '-_', 43)}",
                "secret.sendgrid_key",
            ),
            # fillers and benign look-alikes (not protected)
            "company": lambda: (us.company(), None),
            "city": lambda: (self.faker(_PHONE_LOCALES).city(), None),
            "date": lambda: (us.date(), None),
            "time": lambda: (us.time(pattern="%H:%M"), None),
            "month": lambda: (us.credit_card_expire(), None),
            "day": lambda: (str(r.randint(1, 28)), None),
            "year": lambda: (str(r.randint(1990, 2030)), None),
            "int": lambda: (str(r.choice((r.randint(2, 99), r.randint(100, 99999)))), None),
            "float": lambda: (f"{r.uniform(0, 10000):.{r.randint(1, 6)}f}", None),
            "money": lambda: (f"{r.randint(1000, 9999999):,}", None),
            "order": lambda: (str(r.randint(10**9, 10**12)), None),
            "sha": lambda: (us.sha1(), None),
            "short_sha": lambda: (us.sha1()[:7], None),
            "sha256": lambda: (us.sha256(), None),
            "uuid": lambda: (us.uuid4(), None),
            "version": lambda: (f"{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 99)}", None),
            "isbn": lambda: (us.isbn13(), None),
            "private_ip": lambda: (us.ipv4_private(), None),
            "hex_colour": lambda: (us.hex_color(), None),
            "build": lambda: (f"#{r.randint(1000, 99999)}", None),
            "lat": lambda: (str(us.latitude()), None),
            "lng": lambda: (str(us.longitude()), None),
            "timestamp": lambda: (str(r.randint(10**9, 2 * 10**9)), None),
            "b64_hash": lambda: (
                base64.b64encode(r.randbytes(64)).decode(),
                None,
            ),
        }

    def card(self, sep: str = " ") -> str:
        digits = self.us.credit_card_number()
        if (sep == "-" or self.rng.random() < 0.5) and len(digits) == 16:
            return sep.join(digits[i : i + 4] for i in range(0, 16, 4))
        return digits

    def iban(self) -> str:
        value = self.faker(_IBAN_LOCALES).iban()
        if self.rng.random() < 0.5:
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def nhs(self) -> str:
        while True:
            body = [self.rng.randint(0, 9) for _ in range(9)]
            check = 11 - sum(d * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
            if check != 10:
                digits = "".join(map(str, body)) + str(check % 11)
                return f"{digits[:3]} {digits[3:6]} {digits[6:]}"

    def aadhaar(self) -> str:
        """Faker's Aadhaar numbers fail their Verhoeff check digit; real ones pass it."""
        body = str(self.rng.randint(2, 9)) + self.chars(string.digits, 10)
        digits = body + verhoeff.calc_check_digit(body)
        if self.rng.random() < 0.5:
            return f"{digits[:4]} {digits[4:8]} {digits[8:]}"
        return digits

    def github(self) -> str:
        if self.rng.random() < 0.25:
            return f"github_pat_{self.chars(_ALNUM, 22)}_{self.chars(_ALNUM, 59)}"
        prefix = self.rng.choice(("ghp_", "gho_", "ghs_"))
        return prefix + self.chars(_ALNUM, 36)

    def pem(self, newline: str) -> str:
        label = self.rng.choice(("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY",
                                 "OPENSSH PRIVATE KEY"))  # fmt: skip
        lines = [self.chars(_B64, 64) for _ in range(self.rng.randint(4, 12))]
        lines.append(self.chars(_B64, self.rng.randint(8, 60)) + "==")
        return newline.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])

    def jwt(self) -> str:
        def part(data: dict[str, object]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        header = part({"alg": self.rng.choice(("HS256", "RS256")), "typ": "JWT"})
        payload = part({"sub": self.us.user_name(), "exp": self.rng.randint(10**9, 2 * 10**9)})
        return f"{header}.{payload}.{self.chars(_ALNUM + '-_', 43)}"


def fill(template: str, slots: dict[str, Slot]) -> tuple[str, tuple[Span, ...]]:
    """The template with each ``{{slot}}`` filled, and where each protected value went."""
    out: list[str] = []
    spans: list[Span] = []
    at = 0
    length = 0
    for m in _SLOT.finditer(template):
        literal = template[at : m.start()]
        out.append(literal)
        length += len(literal)
        value, kind = slots[m.group(1)]()
        if kind is not None:
            spans.append(Span(length, length + len(value), kind))
        out.append(value)
        length += len(value)
        at = m.end()
    out.append(template[at:])
    return "".join(out), tuple(spans)


BANKS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "tune": (PII_TEMPLATES, SECRET_TEMPLATES, BENIGN_TEMPLATES),
    "heldout": (HELDOUT_PII_TEMPLATES, HELDOUT_SECRET_TEMPLATES, HELDOUT_BENIGN_TEMPLATES),
}


def generate(n: int, seed: int = DEFAULT_SEED, bank: str = "tune") -> list[Prompt]:
    """``n`` prompts from ``bank``: two fifths personal data, a third secrets, the rest
    benign."""
    pii, secret, benign = BANKS[bank]
    gen = _Generator(seed)
    slots = gen.slots()
    families: tuple[tuple[str, tuple[str, ...], float], ...] = (
        ("pii", pii, 0.4),
        ("secret", secret, 0.35),
    )
    prompts: list[Prompt] = []
    for i in range(n):
        roll = gen.rng.random()
        family: str = "benign"
        templates: tuple[str, ...] = benign
        for name, chosen, share in families:
            if roll < share:
                family, templates = name, chosen
                break
            roll -= share
        text, spans = fill(gen.rng.choice(templates), slots)
        prompts.append(Prompt(f"{family}-{i:04d}", family, text, spans))
    return prompts
