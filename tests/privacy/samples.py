"""Realistic texts with one protected value each, and benign look-alikes: shared by the
detection and redaction tests. The values are invented (test keys, Luhn-valid numbers)."""

from __future__ import annotations

# (kind, text, the value that must be found in it)
PROTECTED: list[tuple[str, str, str]] = [
    ("pii.email", "Send the draft to jane.doe+work@mail.example.org today.",
     "jane.doe+work@mail.example.org"),
    ("pii.phone", "Call me on +44 20 7946 0958 after six.", "+44 20 7946 0958"),
    ("pii.phone", "My cell is (415) 555-2671, text first.", "(415) 555-2671"),
    ("pii.phone", "Mon numéro : 06 12 34 56 78.", "06 12 34 56 78"),
    ("pii.card", "Charge it to 4111 1111 1111 1111, exp 09/29.", "4111 1111 1111 1111"),
    ("pii.card", "Amex 378282246310005 was declined.", "378282246310005"),
    ("pii.iban", "Wire it to GB82 WEST 1234 5698 7654 32 please.", "GB82 WEST 1234 5698 7654 32"),
    ("pii.iban", "IBAN DE89370400440532013000 (Commerzbank).", "DE89370400440532013000"),
    ("pii.national_id", "My SSN is 536-90-4399, keep it safe.", "536-90-4399"),
    ("pii.national_id", "Codice fiscale RSSMRA85T10A562S, please check.", "RSSMRA85T10A562S"),
    ("pii.national_id", "Mi DNI es 12345678Z.", "12345678Z"),
    ("pii.national_id", "Mijn BSN is 111222333.", "111222333"),
    ("pii.national_id", "NHS number 943 476 5919, GP in Leeds.", "943 476 5919"),
    ("pii.national_id", "Meu CPF é 390.533.447-05.", "390.533.447-05"),
    ("secret.aws_key", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("secret.aws_key", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("secret.github_token", "git push with ghp_Zx81KqPa0bL3mN7vT2cR9sD4fG6hJ1kL5wQy fails",
     "ghp_Zx81KqPa0bL3mN7vT2cR9sD4fG6hJ1kL5wQy"),
    ("secret.slack_token",
     "SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
     "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("secret.stripe_key", 'stripe.api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dcAAAAbbbbCCCCdddd"',
     "sk_live_4eC39HqLyjWDarjtT1zdp7dcAAAAbbbbCCCCdddd"),
    ("secret.jwt",
     "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
     "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U expired?",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
     "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("secret.password", 'db:\n  password: "#s8$Kv3q6(7"\n  host: db', "#s8$Kv3q6(7"),
    ("secret.password", "DB_PASSWORD=Tr0ub4dor3\nDB_HOST=localhost", "Tr0ub4dor3"),
    ("secret.password", "postgres://app:S3cretPw9@db.internal:5432/shop", "S3cretPw9"),
    ("secret.password", "mysql -u root -pGA7Lb9aa86T8 -h 127.0.0.1", "GA7Lb9aa86T8"),
    ("secret.high_entropy", "Authorization: Bearer 8f3Kq9zLmN2pQ7rT5vW1xY4bC6dE0gHjAa",
     "8f3Kq9zLmN2pQ7rT5vW1xY4bC6dE0gHjAa"),
    ("secret.openai_key", "OPENAI_API_KEY=sk-proj-abcdefghij0123456789T3BlbkFJabcdefghij0123456789",
     "sk-proj-abcdefghij0123456789T3BlbkFJabcdefghij0123456789"),
    ("secret.google_key", 'MAPS = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"',
     "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
]  # fmt: skip

PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)

BENIGN: list[str] = [
    "What changed in commit e83c5163316f89bfbd7d9ab23ca2e25604af2908?",
    'sha = "e83c5163316f89bfbd7d9ab23ca2e25604af2908"',
    "The request id was 123e4567-e89b-12d3-a456-426614174000.",
    "Upgrade from 1.2.3 to 2.10.0 broke the build on 2024-03-15 at 10:22.",
    "What is 1234 * 5678 + 91011? And 1000000 / 7?",
    "Order 1234567890 shipped; timestamp 1700000000.",
    "ISBN 978-3-16-148410-0 is the second edition.",
    "My laptop at 192.168.1.20 cannot reach 10.0.0.15.",
    "Latitude 39.085156, longitude -77.1528.",
    'password = os.environ["DB_PASSWORD"]',
    'api_key = "<YOUR_API_KEY>"',
    "db:\n  password: ${DB_PASSWORD}",
    "def check_password(password: str) -> bool:\n    return len(password) >= 12",
    "I forgot my password: what is the safest way to reset it?",
    "token = None",
    'api_key_env = "LAB_KEY"  # the variable holding the key',
    "docker pull python@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "Ship to ZIP 94103-1234 by Friday.",
    "Invoice INV-1998-77772 is overdue.",
    "Pi to 15 digits is 3.141592653589793.",
    "recall@5 0.60–0.65, against 0.75–0.85 on Python text.",
    "The colour #1a2b3c looks too dark; 48625 / 83697 is about 0.58.",
]
