"""Korean person names: surname + given name with titles/honorifics, label words, and Kiwi.

Three sources of evidence, cheapest first:

1. ``홍길동 님/씨/고객님/과장/교수…`` — a Korean surname, one or two given-name syllables, then a
   title or honorific (regex).
2. ``성명: 홍길동``, ``예금주 홍길동`` — a label word before a surname-initial word (regex).
3. Kiwi proper nouns (``NNP``): a 2-4 syllable NNP that starts with a surname, or any NNP directly
   followed by a title, is a name; NNPs that look like places or organisations are not. Kiwi runs
   only when ``mode="kiwi"`` (whole text) or, in ``mode="auto"``, on the sentences that contain a
   title/honorific or label word, which keeps the scan fast on ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from hanstack.guard.pii import types as T
from hanstack.guard.pii.types import Candidate

NameMode = Literal["off", "rules", "auto", "kiwi", "crf", "crf-e5"]

SINGLE_SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진지엄채원천방공현함변염여추"
    "도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉사부가복태목형계피두감음빈동온호범좌팽승간상갈"
    "견당화창옹순나묘내단로란"
)
COMPOUND_SURNAMES = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방", "망절", "어금")
SURNAME_SET = frozenset(SINGLE_SURNAMES) | frozenset(COMPOUND_SURNAMES)

TITLES = (
    "고객님",
    "선생님",
    "교수님",
    "사장님",
    "원장님",
    "회장님",
    "부장님",
    "과장님",
    "대리님",
    "팀장님",
    "실장님",
    "이사님",
    "님",
    "씨",
    "고객",
    "과장",
    "대리",
    "부장",
    "차장",
    "사장",
    "팀장",
    "실장",
    "교수",
    "선생",
    "박사",
    "변호사",
    "의원",
    "대표",
    "이사",
    "회장",
    "주임",
    "사원",
    "상무",
    "전무",
    "기자",
    "원장",
    "소장",
    "장관",
    "대통령",
    "총리",
    "감독",
    "선수",
    "작가",
    "위원장",
    "매니저",
    "책임",
    "선임",
    "수석",
    "연구원",
    "간호사",
    "의사",
    "회계사",
    "세무사",
    "법무사",
    "판사",
    "검사",
    "여사",
    "총장",
    "국장",
    "본부장",
    "지점장",
    "센터장",
    "담당",
    "님께",
    "씨는",
    "씨가",
    "씨의",
)
_TITLE_RX = "(?:" + "|".join(sorted(set(TITLES), key=len, reverse=True)) + ")"
LABELS = (
    "성명",
    "이름",
    "성함",
    "고객명",
    "담당자",
    "작성자",
    "신청인",
    "신청자",
    "예금주",
    "수취인",
    "받는 분",
    "받는분",
    "보내는 분",
    "보내는분",
    "환자명",
    "보호자",
    "대표자",
    "피보험자",
    "계약자",
    "name",
)
_LABEL_RX = "(?:" + "|".join(sorted(LABELS, key=len, reverse=True)) + ")"
_SURNAME_RX = "(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + SINGLE_SURNAMES + "])"

# Surname + 1-2 syllables + (space) + title. The negative look-ahead stops 군/양 inside words (군대, 양식).
# After the title: not a longer word (대리점, 군대), but particles are fine (대리에게, 교수님께서, 과장은).
_AFTER_TITLE = r"(?=[^가-힣]|$|(?:에게|께서|께|한테|이랑|으로|로|은|는|이|가|을|를|의|와|과|도|만|님)(?:[^가-힣]|$|[가-힣]))"
_TITLED = re.compile(r"(?<![가-힣])(" + _SURNAME_RX + r"[가-힣]{1,2})\s?(" + _TITLE_RX + r")" + _AFTER_TITLE)
_LABELLED = re.compile(
    r"(?i)" + _LABEL_RX + r"\s*[:：은는이가]?\s*(" + _SURNAME_RX + r"[가-힣]{1,2})(?![가-힣]{2})"
)
_SURNAME_SSI = re.compile(r"(?<![가-힣])([" + SINGLE_SURNAMES + r"])\s?(?:모\s?)?씨(?![가-힣]{2})")

# Frequent words that start with a surname syllable and precede titles (이번 과장님, 고객 님 ...).
STOPWORDS = frozenset(
    {
        "상원",
        "하원",
        "국무",
        "국정",
        "국회",
        "국가",
        "정밀",
        "부위",
        "태평",
        "신임",
        "민주",
        "남북",
        "나라",
        "마음",
        "정신",
        "이번",
        "이제",
        "이런",
        "이상",
        "이후",
        "이전",
        "이분",
        "이름",
        "정말",
        "정도",
        "고객",
        "사장",
        "부장",
        "주임",
        "전체",
        "기존",
        "기사",
        "문의",
        "우리",
        "여러",
        "모든",
        "모두",
        "하나",
        "한번",
        "신규",
        "성함",
        "안내",
        "방문",
        "장기",
        "전화",
        "담당",
        "연구",
        "구매",
        "공사",
        "소장",
        "상담",
        "진료",
        "민원",
        "원장",
        "국장",
        "대표",
        "회장",
        "과장",
        "대리",
        "차장",
        "실장",
        "팀장",
        "교수",
        "선생",
        "박사",
        "감독",
        "선수",
        "작가",
        "기자",
        "의원",
        "총리",
        "장관",
        "사원",
        "간호",
        "의사",
        "변호",
        "이사",
        "주인",
        "손님",
        "사모",
        "부모",
        "어머",
        "아버",
        "할머",
        "할아",
        "여러분",
        "여보",
        "당신",
        "그분",
        "저분",
        "이쪽",
        "저희",
        "제가",
        "제일",
        "조금",
        "지금",
        "오늘",
        "내일",
        "어제",
        "모레",
        "매일",
        "매주",
        "최근",
        "최고",
        "최대",
        "최소",
        "신입",
        "정식",
        "임시",
        "전임",
        "후임",
        "선배",
        "후배",
        "동기",
        "동료",
        "상사",
        "부하",
        "직원",
        "회원",
        "학생",
        "주민",
        "국민",
        "시민",
        "도민",
        "구민",
        "유명",
        "무명",
        "한국",
        "미국",
        "중국",
        "일본",
        "영국",
        "독일",
        "정부",
        "대통",
        "현직",
        "전직",
        "명예",
        "수석",
        "책임",
        "선임",
        "본인",
        "당사",
        "해당",
        "모씨",
        "김모",
        "이모",
        "박모",
        "고모",
        "이모님",
        "삼촌",
        "사촌",
        "형님",
        "누님",
        "언니",
        "오빠",
        "동생",
        "아들",
        "조카",
        "장녀",
        "장남",
        "차녀",
        "차남",
        "막내",
        "신랑",
        "신부",
        "남편",
        "아내",
        "부인",
        "경찰",
        "검찰",
        "소방",
        "군인",
        "공무",
        "연예",
        "가수",
        "배우",
        "모델",
        "방송",
        "전문",
        "담임",
        "주치",
        "원어",
        "강사",
        "구청",
        "시청",
        "도청",
        "구장",
        "공장",
        "지점",
        "본부",
        "센터",
        "부서",
        "기관",
        "기업",
        "회사",
        "사무",
        "안전",
        "보안",
        "관리",
        "운영",
        "영업",
        "마케",
        "인사",
        "재무",
        "총무",
        "기획",
    }
)


# One flat alternation of literals (no IGNORECASE, no nested groups): re can then skip ahead on the
# first characters, which makes this ~4x faster than the grouped/case-insensitive form.
NAME_HINT = re.compile("|".join(sorted({*TITLES, *LABELS, "Name", "NAME"}, key=len, reverse=True)))
_LABEL_SET = frozenset(label.lower() for label in LABELS)
"""Where a rule-based name can be: the engine runs the name regexes only around these."""


def _ok_name(name: str) -> bool:
    return name not in STOPWORDS and name[:2] not in STOPWORDS and not name.endswith(("들", "님"))


def find_person_rules(text: str, *, titled: bool = True) -> list[Candidate]:
    """Names the rules find: surname + given name before a title or honorific (``titled``), after
    a label word, and surname + 씨. ``titled=False`` leaves out the first rule, for a model that
    reads titles itself (``crf-e5``: beside it the rule only added false positives)."""
    out: list[Candidate] = []
    for m in _TITLED.finditer(text) if titled else ():
        name = m.group(1)
        if not _ok_name(name):
            continue
        out.append(
            Candidate(
                T.PERSON,
                m.start(1),
                m.end(1),
                0.7,
                ["surname + given name", f"title {m.group(2)}"],
                (),
                (),
                0.0,
            )
        )
    for m in _LABELLED.finditer(text):
        name = m.group(1)
        if not _ok_name(name):
            continue
        out.append(
            Candidate(
                T.PERSON, m.start(1), m.end(1), 0.8, ["label word before a surname-initial word"], (), (), 0.0
            )
        )
    for m in _SURNAME_SSI.finditer(text):
        out.append(Candidate(T.PERSON, m.start(1), m.end(1), 0.55, ["surname + 씨"], (), (), 0.0))
    return out


# --- Kiwi ------------------------------------------------------------------------------------------
_PLACE_SUFFIX = (
    "시",
    "도",
    "구",
    "동",
    "읍",
    "면",
    "리",
    "역",
    "산",
    "강",
    "국",
    "주",
    "섬",
    "항",
    "천",
    "사",
    "교",
    "원",
    "관",
    "청",
    "부",
    "당",
    "회",
    "단",
    "협",
    "은행",
    "대학",
    "학교",
    "병원",
    "센터",
    "공원",
    "호텔",
    "그룹",
)
_TITLE_SET = frozenset(TITLES)
_PERSON_FOLLOW = frozenset({"씨", "님", "군", "양", "옹", "여사"})


def _hangul(s: str) -> bool:
    return bool(s) and all("가" <= ch <= "힣" for ch in s)


def find_person_kiwi(
    text: str, kiwi: Any, sentences: Iterable[tuple[int, int]] | None = None
) -> list[Candidate]:
    """Name candidates from Kiwi over ``text`` (or only the given ``(start, end)`` windows).

    Candidates are proper-noun runs (NNP), surname-initial common nouns and Latin tokens before a
    title; each is scored by the shipped logistic model over its form and neighbours (see
    :mod:`hanstack.guard.pii.name_model`), or by hand-set weights when no model file is there.
    """
    from hanstack.guard.pii.name_model import load_name_model

    model = load_name_model()
    windows = list(sentences) if sentences is not None else [(0, len(text))]
    out: list[Candidate] = []
    for w_start, w_end in windows:
        chunk = text[w_start:w_end]
        toks = kiwi.tokenize(chunk)
        for start, end, i, j in name_candidates(chunk, toks):
            form = chunk[start:end]
            if model is not None:
                p, score = model.score(candidate_features(form, toks, i, j))
                if score < 0.2:
                    continue
                reason = f"Kiwi candidate, name model p={p:.2f} (operating point {model.threshold:.2f})"
                out.append(Candidate(T.PERSON, w_start + start, w_start + end, score, [reason], (), (), 0.0))
                continue
            nxt = toks[j] if j < len(toks) else None
            score, reasons = _score_nnp(
                form, nxt.form if nxt is not None else "", nxt.tag if nxt is not None else ""
            )
            if score > 0:
                out.append(Candidate(T.PERSON, w_start + start, w_start + end, score, reasons, (), (), 0.0))
    return out


def find_person_crf(
    text: str, kiwi: Any, *, e5: bool = False, model_dir: str | Path | None = None
) -> list[Candidate]:
    """Person spans from the character CRF (:mod:`hanstack.guard.pii.name_crf`) over the whole text
    (``e5``: the CRF that also reads multilingual-e5-small token states, mode ``crf-e5``;
    ``model_dir``: model files written by a training run instead of the shipped ones).

    ``crf``: the score is the mean marginal probability of the span's labels, so the engine's
    threshold (0.5) also drops the spans the CRF itself is unsure about. ``crf-e5``: the spans and
    scores come from the span rescorer (:mod:`hanstack.guard.pii.name_span`) over the CRF's
    candidates, its operating point mapped onto the same 0.5.
    """
    from hanstack.guard.pii.name_crf import load_name_tagger

    why = "name CRF+e5" if e5 else "name CRF"
    return [
        Candidate(T.PERSON, a, b, p, [f"{why} p={p:.2f}"], (), (), 0.0)
        for a, b, p in load_name_tagger(e5=e5, model_dir=None if model_dir is None else str(model_dir)).find(
            text, kiwi
        )
    ]


def name_candidates(text: str, toks: Any) -> list[tuple[int, int, int, int]]:
    """``(start, end, first_token, after_last_token)`` for each name candidate in Kiwi's tokens."""
    out = []
    n = len(toks)
    i = 0
    while i < n:
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        run = _syllable_run(toks, i)
        if run > i + 1:  # a name Kiwi split into single syllables: 공/효/진, 박/보/영
            out.append((t.start, toks[run - 1].start + toks[run - 1].len, i, run))
        if t.tag == "NNP":
            j = i + 1
            while (
                j < n and toks[j].tag == "NNP" and toks[j].start - (toks[j - 1].start + toks[j - 1].len) <= 1
            ):
                j += 1
            out.append((t.start, toks[j - 1].start + toks[j - 1].len, i, j))
            i = j
            continue
        surname_noun = t.tag == "NNG" and 2 <= t.len <= 4 and _hangul(t.form) and t.form[0] in SURNAME_SET
        titled_latin = (
            t.tag == "SL" and nxt is not None and (nxt.form in _TITLE_SET or nxt.form in _PERSON_FOLLOW)
        )
        if surname_noun or titled_latin:
            out.append((t.start, t.start + t.len, i, i + 1))
        elif (
            t.len == 1
            and t.form in SURNAME_SET
            and nxt is not None
            and nxt.form in ("씨", "모", "모씨", "군", "양")
        ):
            out.append((t.start, t.start + 1, i, i + 1))
        i += 1
    return out


def _syllable_run(toks: Any, i: int) -> int:
    """End index of a run of 2-3 contiguous one-syllable noun/numeral tokens starting with a surname."""
    t = toks[i]
    if t.len != 1 or t.form not in SURNAME_SET or not t.tag.startswith(("NN", "NR")):
        return i
    j = i + 1
    while (
        j < len(toks)
        and j - i < 3
        and toks[j].len == 1
        and _hangul(toks[j].form)
        and toks[j].tag.startswith(("NN", "NR"))
        and toks[j].start == toks[j - 1].start + toks[j - 1].len
    ):
        j += 1
    return j if j - i >= 2 else i


def candidate_features(form: str, toks: Any, i: int, j: int) -> set[str]:
    """Features of the candidate ``toks[i:j]`` (surface ``form``) for the name model."""
    compact = form.replace(" ", "")
    kind = toks[i].tag.split("-")[0] if j - i == 1 or toks[i].tag == "NNP" else "SPLIT"
    f = {
        "bias",
        f"kind={kind}",
        f"len={min(len(compact), 7)}",
        f"form={compact}",
        f"f={compact[:1]}",
        f"l={compact[-1:]}",
        f"l2={compact[-2:]}",
    }
    if _hangul(compact):
        f.add("hangul")
    elif compact.isascii():
        f.add("latin")
    if " " in form:
        f.add("space")
    if compact[:2] in COMPOUND_SURNAMES:
        f.add("sur2")
    elif compact[:1] in SURNAME_SET:
        f.add("sur1")
        f.add(f"sur1&len={min(len(compact), 5)}")
    if compact in STOPWORDS or compact[:2] in STOPWORDS:
        f.add("stop")
    if compact.endswith(_PLACE_SUFFIX):
        f.add("place_suffix")
    n = len(toks)
    for k, name in ((j, "n"), (j + 1, "n2")):
        if k < n:
            f.add(f"{name}={toks[k].form}/{toks[k].tag.split('-')[0]}")
            f.add(f"{name}t={toks[k].tag.split('-')[0]}")
    for k, name in ((i - 1, "p"), (i - 2, "p2")):
        if k >= 0:
            f.add(f"{name}={toks[k].form}/{toks[k].tag.split('-')[0]}")
            f.add(f"{name}t={toks[k].tag.split('-')[0]}")
    if j < n and (toks[j].form in _TITLE_SET or toks[j].form in _PERSON_FOLLOW):
        f.add("title_after")
    if i > 0 and toks[i - 1].form in LABELS:
        f.add("label_before")
    return f


def _score_nnp(form: str, nxt: str, nxt_tag: str) -> tuple[float, list[str]]:
    """Hand-set scoring of a Kiwi candidate, used only when the name model file is missing."""
    compact = form.replace(" ", "")
    reasons = ["Kiwi NNP"]
    titled = nxt in _TITLE_SET or nxt in _PERSON_FOLLOW
    if titled:
        reasons.append(f"followed by {nxt}")
    if (
        _hangul(compact)
        and 2 <= len(compact) <= 4
        and (compact[0] in SURNAME_SET or compact[:2] in SURNAME_SET)
    ):
        if compact in STOPWORDS or compact[:2] in STOPWORDS:
            return 0.0, []
        if compact.endswith(_PLACE_SUFFIX) and not titled:
            return 0.3, [*reasons, "place-like suffix"]
        score = 0.6 if len(compact) == 3 else 0.45
        if titled:
            score += 0.3
        return score, [*reasons, "surname-initial"]
    if titled:
        return 0.55, reasons
    return 0.0, []


# Titles that almost always follow a person's name: only these send the word before them to Kiwi in
# ``auto`` mode (대표, 이사, 담당 ... are common nouns too often to pay Kiwi for each). Every honorific
# -님 title of TITLES is one of them.
KIWI_TITLES = frozenset(t for t in TITLES if t.endswith("님")) | frozenset(
    {
        "씨",
        "과장",
        "대리",
        "부장",
        "차장",
        "팀장",
        "실장",
        "교수",
        "박사",
        "변호사",
        "의원",
        "기자",
        "장관",
        "대통령",
        "총리",
        "감독",
        "선수",
        "작가",
        "여사",
        "님께",
        "씨는",
        "씨가",
        "씨의",
    }
)


def trigger_windows(
    text: str, covered: set[int] | None = None, words_before: int = 1
) -> list[tuple[int, int]]:
    """Small windows where ``auto`` mode runs Kiwi: the words right before a title/honorific (where a
    name the rules missed would be: 트럼프 대통령, 마이클 잭슨 씨) or right after a label word.

    ``covered`` holds the end offsets of names the rules already found; a title right after one of
    them needs no second look.
    """
    covered = covered or set()
    n = len(text)
    spans: list[tuple[int, int]] = []
    for m in NAME_HINT.finditer(text):
        word = m.group(0)
        if word.lower() in _LABEL_SET:
            s, e = m.start(), m.end()
            while e < n and (text[e].isspace() or text[e] in ":："):
                e += 1
            while e < n and not text[e].isspace():
                e += 1
        else:
            if m.start() == 0 or word not in KIWI_TITLES:
                continue
            w0 = m.start()
            while w0 > 0 and not text[w0 - 1].isspace():
                w0 -= 1
            if 0 < m.start() - w0 < 2:  # attached to a single syllable: 날씨가, 아저씨 — not a name
                continue
            if any(m.start() - k in covered for k in (0, 1)):
                continue
            s, e = m.start(), m.end()
            for _ in range(words_before):
                while s > 0 and text[s - 1].isspace():
                    s -= 1
                while s > 0 and not text[s - 1].isspace():
                    s -= 1
        if spans and s <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], e))
        else:
            spans.append((s, e))
    return spans
