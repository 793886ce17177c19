"""Prompt-injection rules, Korean and English, matched on normalised *compact* text.

Patterns are written without spaces because they run on :func:`~.normalize.compact` output (letters
and digits only, lower-case, jamo recomposed): "이전 지시는 무시하고", "이 전 지 시 는 무 시" and
"ㅇㅣㅈㅓㄴ ㅈㅣㅅㅣ" all become ``이전지시는무시하고``. Each rule has a weight (how much one match alone
says "attack"), a category, and the sources it applies to; the detector combines the weights of
distinct matching rules with a noisy-OR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALL_SOURCES = frozenset({"user", "document", "tool"})
UNTRUSTED = frozenset({"document", "tool"})


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    weight: float
    pattern: re.Pattern[str]
    description: str
    sources: frozenset[str] = ALL_SOURCES
    on_compact: bool = True

    def search(self, text: str) -> re.Match[str] | None:
        """First match that is not negated right after (무시하면 안 돼, 무시하지 마, don't ...)."""
        for m in self.pattern.finditer(text):
            if self.category in NEGATABLE and _NEGATED.match(text, m.end()):
                continue
            if self.category in NEGATABLE and _NEGATED_BEFORE.search(text, max(0, m.start() - 8), m.start()):
                continue
            return m
        return None


NEGATABLE = frozenset({"override", "safety_bypass", "prompt_leak", "privilege"})
_NEGATED = re.compile(
    r"[가-힣]{0,3}?(?:면안|지마|지말|지않|지못|면못|면절대|수없|수가없|당했|당해|당하|당한|는사람|는것은|는건|는행위|는일|하는사람|된다고|되면)"
)
_NEGATED_BEFORE = re.compile(r"(?:dont|donot|never|nottoo?|절대로?|안돼|하지말고)$")


def _r(
    id: str,
    category: str,
    weight: float,
    pattern: str,
    description: str,
    sources: frozenset[str] = ALL_SOURCES,
    on_compact: bool = True,
) -> Rule:
    return Rule(id, category, weight, re.compile(pattern), description, sources, on_compact)


_KO_RULES_OBJ = r"(?:지시|지침|명령|규칙|프롬프트|제약|제한|정책|가이드라인|가이드|원칙|윤리|필터|검열|안전|보안|프로토콜|조치|수칙|교육|훈련|설정|지시사항|instructions?|rules?)"
_KO_DISABLE = (
    r"(?:무시|우회|해제|비활성|끄고|끄세요|꺼|풀어|없애|무력화|정지|중단|잊|어겨|깨|위반|벗어나|건너뛰)"
)
_EN_PREV = r"(?:previous|prior|above|earlier|preceding|former|initial|original|system|developer|all|any|the|your|my|these|those|of)*"
_EN_INSTR = r"(?:instructions?|prompts?|rules|directions|guidelines|commands|context|messages|constraints|policies|polic(?:y|ies)|programming|training|restrictions)"

RULES: tuple[Rule, ...] = (
    # --- override the instructions -----------------------------------------------------------
    _r(
        "override.en",
        "override",
        0.9,
        r"(?:ignore|disregard|forget|override|bypass|skip|neglect|drop|abandon)" + _EN_PREV + _EN_INSTR,
        "asks to ignore/override previous instructions (English)",
    ),
    _r(
        "override.en.everything",
        "override",
        0.8,
        r"(?:forget|ignore|disregard)(?:about)?(?:everything|allthat|whatyou(?:were|have)been)(?:told|said|above|before)?",
        "asks to forget everything it was told (English)",
    ),
    _r(
        "override.ko",
        "override",
        0.9,
        r"(?:이전|앞|위|기존|지금까지|앞서|앞에|위에|처음|원래|모든|시스템|기본|사전|초기|너의|당신의|네)(?:의|에서|에|받은|주어진|말한|했던|한)?"
        r"(?:모든)?(?:지시|지침|명령|규칙|프롬프트|설정|지시사항|대화|내용|요청|가르침|instructions?)"
        r"(?:은|는|을|를|들|사항|들은|들을|이나|와)?(?:다|모두|전부|싹|완전히|일단|잠시|전혀)?(?:무시|잊|취소|삭제|무효|폐기|버려|지워|리셋|초기화)",
        "asks to ignore/forget previous instructions (Korean)",
    ),
    _r(
        "disable.safety.ko",
        "safety_bypass",
        0.8,
        _KO_RULES_OBJ
        + r"(?:을|를|은|는|이|가|들을|들은|사항을|조치를|모드를|기능을)?(?:일시적으로|잠시|모두|전부|완전히|다|좀|이번만|이세션에서)?"
        + _KO_DISABLE,
        "asks to disable/bypass rules, safety or filters (Korean)",
    ),
    _r(
        "disable.safety.ko.policy",
        "safety_bypass",
        0.85,
        r"(?:콘텐츠|컨텐츠|사용|안전|윤리|내용)(?:정책|지침|가이드라인|필터링|필터|검열|조정)[가-힣]{0,8}"
        + _KO_DISABLE,
        "asks to ignore/disable content or usage policy (Korean)",
    ),
    _r(
        "disable.safety.en",
        "safety_bypass",
        0.85,
        r"(?:disable|turnoff|deactivate|bypass|remove|lift|suspend|circumvent|evade)(?:your|the|all|any|its)*"
        r"(?:safety|content|ethical|moral)?(?:filters?|guardrails?|safeguards?|restrictions?|moderation|censorship|policy|policies|protocols?|guidelines|limits?)",
        "asks to disable safety filters or policies (English)",
    ),
    # --- reveal the system prompt ------------------------------------------------------------
    _r(
        "leak.en",
        "prompt_leak",
        0.9,
        r"(?:reveal|show|print|repeat|output|display|tell|give|leak|dump|share|spell|write|echo|what(?:is|are|were))(?:me|us|out)?"
        r"(?:your|the|its|all|of|full|entire|exact|hidden|secret|initial|original|complete|verbatim)*"
        r"(?:system|developer|hidden|initial|original|secret|internal|pre)(?:prompt|instructions?|message|rules|configuration)",
        "asks for the system prompt (English)",
    ),
    _r(
        "leak.en.above",
        "prompt_leak",
        0.75,
        r"(?:repeat|print|output|copy)(?:all|the|everything)*(?:words|text|lines|everything|content)?(?:above|before|preceding)"
        r"|whatwas(?:written|said)(?:at|in)?the(?:beginning|start|top)",
        "asks to repeat the text above (English)",
    ),
    _r(
        "leak.ko",
        "prompt_leak",
        0.9,
        r"(?:시스템|초기|원래|숨겨진|숨은|비밀|내부|개발자|사전|최초)(?:의)?(?:프롬프트|지시|지침|설정|명령|메시지|규칙|지시사항|instructions?)"
        r"[가-힣]{0,10}(?:알려|보여|출력|말해|공개|누설|복사|적어|반복|뭐|무엇|그대로|유출|읊어|나열|써줘|써봐)",
        "asks for the system prompt (Korean)",
    ),
    _r(
        "leak.ko.above",
        "prompt_leak",
        0.7,
        r"(?:위|앞|처음|맨위|이전)(?:의|에|에서)?(?:있는|받은|주어진)?(?:모든)?(?:내용|문장|지시|텍스트|글|메시지)[가-힣]{0,6}"
        r"(?:그대로|전부|모두|토씨하나)[가-힣]{0,4}(?:출력|반복|보여|말해|적어|복사)",
        "asks to repeat everything above verbatim (Korean)",
    ),
    # --- jailbreak personas and modes ----------------------------------------------------------
    _r(
        "jailbreak.terms",
        "jailbreak",
        0.9,
        r"탈옥|jailbr(?:ea|o)k|doanythingnow|developermode|개발자모드|godmode|갓모드|무제한모드|제한없는모드|제한이없는모드"
        r"|dan모드|danmode|stan모드|dude모드|evilbot|비윤리모드|안전모드해제|필터없는모드|검열없는모드|aim모드|antidan",
        "jailbreak vocabulary (DAN, developer mode, 탈옥 ...)",
    ),
    _r(
        "jailbreak.dan",
        "jailbreak",
        0.8,
        r"(?:^|[^a-z])dan(?:[^a-z]|$)(?:.{0,40})(?:mode|모드|할수|now|anything|무엇이든|뭐든)",
        "DAN persona",
        on_compact=False,
    ),
    _r(
        "jailbreak.unrestricted.ko",
        "jailbreak",
        0.75,
        r"(?:제한|제약|필터|검열|규칙|윤리|경계|한계|도덕|도덕적제약|윤리적제약|안전장치|정책|콘텐츠정책)(?:이|가|은|는|도)?(?:전혀|하나도|아무런|일절)?"
        r"(?:없는|없이|없다면|없다고|없는것처럼|없어진|존재하지않|사라진)(?:ai|인공지능|챗봇|봇|조수|어시스턴트|모드|소설|상태|척|것처럼|상황|세상|세계|환경|버전|너|당신)?",
        "describes an AI or situation without rules/ethics/filters (Korean)",
    ),
    _r(
        "jailbreak.unrestricted.en",
        "jailbreak",
        0.8,
        r"(?:unrestricted|unfiltered|uncensored|unbound|unlimited|unaligned|amoral|nofilter|nolimits|norules|noethics|nomorals|norestrictions"
        r"|withoutany(?:restrictions|filters|rules|limits|ethics|guidelines|censorship)|freefromall)",
        "unrestricted/unfiltered AI vocabulary (English)",
    ),
    _r(
        "jailbreak.persona.ko",
        "jailbreak",
        0.8,
        r"(?:ai|인공지능|챗봇|봇|조수|어시스턴트|비서|캐릭터|악당|악마|해커|범죄자)(?:라고|로서|로|처럼|인척|인것처럼|가된것처럼|역할)"
        r"[가-힣]{0,4}(?:상상|역할극|변신|행동|가정|연기|롤플|척)",
        "asks the model to imagine being another (unbound) AI or character (Korean)",
    ),
    _r(
        "jailbreak.roleplay.harm.ko",
        "jailbreak",
        0.85,
        r"(?:악한|악의적|악의적인|사악한|악당|악마|비윤리적|해로운|위험한|검열없는|필터없는|제한없는|무법)"
        r"[가-힣a-z]{0,14}(?:역할극|롤플레이|척|처럼|상상|변신|연기|역할|되어|조수|ai|인공지능|챗봇|캐릭터|조언)",
        "role-play as an evil/unrestricted/harmful persona (Korean)",
    ),
    _r(
        "jailbreak.roleplay.ko",
        "jailbreak",
        0.5,
        r"역할극|롤플레이|롤플|처럼행동|인척해|척해봐|척해줘|척하며|척하세요|처럼굴어|빙의",
        "role-play request (weak alone)",
    ),
    _r(
        "jailbreak.roleplay.en",
        "jailbreak",
        0.55,
        r"(?:pretend(?:to|that)?(?:you|be)|roleplay|actas(?:an?|if)|youarenow|fromnowon|stayincharacter|imagineyouare|youarenolonger|simulatean?)",
        "role-play / persona switch (English, weak alone)",
    ),
    _r(
        "jailbreak.hypothetical.ko",
        "jailbreak",
        0.75,
        r"(?:대체현실|평행우주에서|윤리가존재하지|윤리가없|도덕이없|모든규칙을깨|규칙을깨는|법이없는세상|처벌받지않는다면|아무도모른다면)",
        "hypothetical frame that removes ethics/consequences (Korean)",
    ),
    _r(
        "jailbreak.hypothetical.en",
        "jailbreak",
        0.6,
        r"(?:hypothetically|inahypotheticalworld|inafictionalworld|foreducationalpurposesonly|forresearchpurposes(?:only)?"
        r"|therearenorules|withoutconsequences|inanalternate(?:reality|universe))",
        "hypothetical/educational frame (English, weak alone)",
    ),
    _r(
        "privilege.ko",
        "privilege",
        0.75,
        r"(?:관리자|루트|개발자|행정|시스템|슈퍼유저|최고|운영자|마스터|root|admin|sudo|superuser)(?:의)?(?:권한|모드|자격|액세스)"
        r"[가-힣]{0,6}(?:으로실행|로실행|부여|있는것처럼|있다고|획득|활성화|실행하세요|실행해|전환|요청을실행)",
        "claims or grants admin/root/developer privileges (Korean)",
    ),
    _r(
        "privilege.en",
        "privilege",
        0.7,
        r"(?:enable|grant|give|activate|switchto|enter|run(?:this|it)?(?:with|as|in))(?:me|yourself|you)?(?:full|unrestricted)?"
        r"(?:admin|root|developer|sudo|superuser|god|debug|maintenance)(?:mode|access|privileges?|rights|permissions?)",
        "claims or grants admin/developer privileges (English)",
    ),
    # --- chat-template and delimiter injection --------------------------------------------------
    _r(
        "template.tokens",
        "template_injection",
        0.85,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|\[/?inst\]|<</?sys>>|<start_of_turn>|<\|begin_of_text\|>",
        "chat-template control tokens in content",
        on_compact=False,
    ),
    _r(
        "template.roles",
        "template_injection",
        0.55,
        r"(?:^|\n)\s*(?:#{2,}\s*)?(?:system|시스템|assistant|어시스턴트)\s*(?:prompt|프롬프트|message|메시지)?\s*[:：]\s*\S",
        "a line pretending to be a system/assistant message",
        on_compact=False,
    ),
    # --- indirect injection: instructions addressed to the model inside data ----------------------
    _r(
        "indirect.address.en",
        "indirect",
        0.75,
        r"(?:ai|assistant|chatbot|llm|languagemodel|gpt|claude|copilot)(?:reading|processing|summari[sz]ing)?(?:this)?"
        r"(?:mustnow|shouldnow|must|should|will|please|pleasenow)(?:ignore|instead|now|immediately|always|not|send|forward|reply|respond|say|tell|output|include|reveal)",
        "text addressed to an AI reading it (English)",
        UNTRUSTED,
    ),
    _r(
        "indirect.address.ko",
        "indirect",
        0.75,
        r"(?:이문서를읽는|이글을읽는|이내용을처리하는|요약하는)?(?:ai|인공지능|어시스턴트|챗봇|언어모델|모델|assistant)(?:는|은|에게|야|님)"
        r"(?:반드시|지금|지금부터|즉시|이제|앞으로|다음)[가-힣]{0,20}(?:하라|하시오|해야|하세요|할것|말하|출력|전송|보내|응답|답하)",
        "text addressed to an AI reading it (Korean)",
        UNTRUSTED,
    ),
    _r(
        "indirect.newinstructions",
        "indirect",
        0.8,
        r"(?:newinstructions|updatedinstructions|importantinstructions|새로운지시|새지시|새로운지침|긴급지시|중요지시|새로운명령|추가지시사항)",
        "announces new instructions inside content",
        UNTRUSTED,
    ),
    _r(
        "indirect.exfil",
        "exfiltration",
        0.8,
        r"(?:send|forward|post|upload|email|leak|exfiltrate|전송|보내|유출|업로드)[가-힣a-z]{0,20}(?:password|credentials|apikey|token|conversation|chathistory|userdata|비밀번호|패스워드|대화내용|대화기록|개인정보|api키|토큰)"
        r"|(?:password|credentials|apikey|token|conversation|비밀번호|패스워드|대화내용|대화기록|개인정보|api키|토큰)[가-힣a-z]{0,20}(?:to|에게|으로|로)(?:http|www|이메일|메일|다음주소|아래주소|링크)",
        "asks to send secrets or conversation data somewhere",
    ),
    _r(
        "indirect.markdown.exfil",
        "exfiltration",
        0.7,
        r"!\[[^\]]*\]\(https?://[^)]*(?:\?|&)[a-z_]*=(?:\{|\$|%7b|<)",
        "markdown image URL with a template parameter (data exfiltration)",
        ALL_SOURCES,
        on_compact=False,
    ),
    _r(
        "indirect.imperative.tool",
        "indirect",
        0.45,
        r"(?:ignore|무시|instead|대신에?|nowcall|호출하라|호출하세요|실행하라|실행하세요|execute|call)(?:the)?(?:function|tool|함수|도구|api)",
        "asks for a tool/function call from inside content",
        UNTRUSTED,
    ),
)
