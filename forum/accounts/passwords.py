"""Which passwords we refuse, and why.

NIST SP 800-63B asks for a minimum length and a check against passwords known
from breaches instead of composition rules. Our minimum is 10 characters, so
only common passwords of 10 or more characters matter here: these are the
ones of that length that head the public breach-frequency lists (SecLists'
"10-million-password-list-top-10000" and NCSC's 100k list), plus the obvious
keyboard and digit runs.
"""
MIN_PASSWORD_LENGTH = 10

COMMON_PASSWORDS = frozenset("""
1234567890 0123456789 0987654321 9876543210 1111111111 0000000000 2222222222
1212121212 1234512345 1234554321 1122334455 1357924680 1029384756 1qaz2wsx3edc
qwertyuiop qwertyuiop1 qwerty1234 qwerty12345 qwerty123456 1q2w3e4r5t 1q2w3e4r5t6y
q1w2e3r4t5 zaq12wsxcde asdfghjkl1 asdfghjkl; zxcvbnm123 qazwsxedcrfv abcdefghij
abcd123456 abc1234567 a123456789 123456789a 123456789q 1234567890q password12
password123 password1234 password12345 passw0rd123 p@ssw0rd123 p@ssword123
password01 password99 password2020 password2021 password2022 password2023
password2024 password2025 password2026 mypassword1 mypassword123 letmein123
letmein1234 iloveyou12 iloveyou123 iloveyou1234 princess12 princess123
sunshine12 sunshine123 football12 football123 baseball12 baseball123 basketball
basketball1 superman12 superman123 starwars12 starwars123 trustno123 welcome123
welcome1234 welcome2024 welcome2025 changeme12 changeme123 administrator admin12345
admin123456 adminadmin administrator1 whatever12 whatever123 michael123 jennifer12
charlie123 computer12 computer123 internet12 chocolate1 butterfly1 qwertyqwerty
1234qwerty 12345qwert 123qweasdzxc qweasdzxc123 passwordpassword 1234567891
12345678910 123456789012 123123123123 1231231231 5555555555 7777777777 9999999999
6666666666 8888888888 3333333333 4444444444 abcabcabca aaaaaaaaaa zzzzzzzzzz
""".split())


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """The reason a password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return "This password is one of the most common ones; choose another."
    if username and lowered == username.lower():
        return "Your password must not be your username."
    if email and lowered == email.lower():
        return "Your password must not be your email address."
    return None
