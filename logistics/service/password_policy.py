"""Which passwords staff may choose: 8 to 256 characters, not the user's name, and none of the commonest
passwords. "Commonest" is zxcvbn's ranked list of the 30,000 passwords found most often in leaked
password sets, plus common (mostly Chinese) ones that list lacks, plus anything made of one or two
characters repeated (88888888, 12121212)."""

from __future__ import annotations

from functools import cache

from ..domain.errors import InvalidInput

MIN_PASSWORD = 8
MAX_PASSWORD = 256
TOO_COMMON = "密码过于常见，很容易被猜中，请换一个（例如几个不相关的词语或拼音加数字的组合）"

# Common passwords zxcvbn's list lacks: from Chinese leaked password sets, default admin passwords, and
# this service's own words (8 characters or more; shorter ones are refused for their length anyway).
MORE_COMMON = frozenset(
    """
    woaini1314 woaini520 woaini123 woaini1314520 iloveyou1314 5201314520 1314520520 qq5201314
    5201314a a5201314 qq123456789 qq1234567 woaiwojia dearbook xiazhili 147258369 789456123
    123654789 110110110 123321123 123456aa aa123456 abc123456 a12345678 123456123 123456abc a123456789
    123456789a 1234qwer 12344321 31415926 11223344 147852369 741852963 159357123 123qweasd qweasdzxc
    1qaz2wsx3edc asd123456 qwe123456 zxc123456 abc12345678 admin888 admin123456 root1234 huawei123
    admin1234 admin12345 administrator admin@123 admin@1234 abc@1234 abc@123456 a1b2c3d4
    zhang123456 wang123456 li123456 liu123456 chen123456 yang123456 zhao123456 huang123456 zhou123456
    wu123456 xu123456 sun123456 ma123456 zhu123456 hu123456 guo123456 lin123456 he123456 gao123456
    certpost certpost123 ems12345 ems123456 chinapost 11185185 zhengwu123 zwfw1234 zwfw123456
    """.split()
)


@cache
def _ranked() -> dict[str, int]:
    from zxcvbn.matching import RANKED_DICTIONARIES  # builds its dictionaries on first import

    return RANKED_DICTIONARIES["passwords"]


def is_common(password: str) -> bool:
    lowered = password.lower()
    return len(set(lowered)) <= 2 or lowered in MORE_COMMON or lowered in _ranked()


def check_password(password: str, field: str = "password", *, name: str = "") -> str:
    """The password when staff may use it, else InvalidInput naming `field` with the Chinese reason."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput([(field, f"密码至少 {MIN_PASSWORD} 位")])
    if len(password) > MAX_PASSWORD:
        raise InvalidInput([(field, f"密码最多 {MAX_PASSWORD} 位")])
    if name and password.strip().lower() == name.strip().lower():
        raise InvalidInput([(field, "密码不能与用户名相同")])
    if is_common(password):
        raise InvalidInput([(field, TOO_COMMON)])
    return password
