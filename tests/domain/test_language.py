"""Language detection: right on real text, silent on short or mixed text, the same answer every time."""

from __future__ import annotations

from pathlib import Path

import langdetect
import pytest
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from domain.language import SEED, _factory, detect_language, worth_offering
from domain.language_profiles import PAIR, CompactDetector

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

SAMPLES = {
    "nl": "Kan iemand morgenmiddag helpen met de boodschappen? Mijn dochter is ziek en ik kan niet weg.",
    "en": "Could someone help me with the shopping tomorrow afternoon? My daughter is ill and I cannot go out.",
    "ar": "هل يمكن لأحد أن يساعدني في التسوق غدا بعد الظهر؟ ابنتي مريضة ولا أستطيع الخروج.",
    "tr": "Yarın öğleden sonra alışverişte bana yardım edebilecek biri var mı? Kızım hasta ve dışarı çıkamıyorum.",
    "pl": "Czy ktoś może mi jutro po południu pomóc w zakupach? Moja córka jest chora i nie mogę wyjść z domu.",
    "uk": "Чи може хтось допомогти мені з покупками завтра вдень? Моя донька хвора, і я не можу вийти з дому.",
}


def _seed_paragraphs() -> list[str]:
    paragraphs: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        paragraphs += [line for line in path.read_text(encoding="utf-8").splitlines() if len(line) > 200]
    return paragraphs


@pytest.mark.parametrize(("language", "text"), sorted(SAMPLES.items()))
def test_each_shipped_language_is_recognised(language: str, text: str) -> None:
    assert detect_language(text) == language


def test_the_dutch_articles_are_recognised_as_dutch() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"the source articles are not beside the project ({SEEDS})")
    paragraphs = _seed_paragraphs()
    assert len(paragraphs) >= 20
    found = [detect_language(paragraph) for paragraph in paragraphs]
    # Never another language; a paragraph full of English programme names may stay unlabelled.
    assert set(found) <= {"nl", None}
    assert found.count("nl") >= 0.9 * len(found)


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "ok",
        "Hi",
        "Dank je wel!",
        "Thanks, see you",
        "👍👍👍",
        "12:30 ok?",
        "Merhaba nasılsın",
        # Two languages in one message: unlabelled rather than wrong.
        "Ik wil graag hulp met de boodschappen morgen, but I do not know when my husband comes home tonight",
        "Sorry voor de late reactie maar ja, mein Kind ist krank und ich kann heute wirklich nicht kommen",
    ],
)
def test_short_and_mixed_texts_are_left_undetected(text: str | None) -> None:
    assert detect_language(text) is None


def test_detection_is_repeatable() -> None:
    # langdetect is random unless seeded; borderline text shows it first.
    text = "Hallo, misschien kan iemand helpen, ik weet het niet precies, we zien wel"
    assert len({detect_language(text) for _ in range(20)}) == 1


def test_links_and_commands_do_not_count_as_words() -> None:
    assert detect_language("https://example.org/a/very/long/path/with/words /start @someone") is None


def test_a_switch_is_offered_only_to_another_shipped_language() -> None:
    shipped = ("nl", "en", "ar", "tr", "pl", "uk")
    assert worth_offering(detect_language(SAMPLES["tr"]), "nl", shipped) == "tr"
    assert worth_offering(detect_language(SAMPLES["nl"]), "nl", shipped) is None
    assert worth_offering(detect_language(SAMPLES["tr"]), "nl", ("nl", "en")) is None
    german = "Kann mir morgen jemand beim Einkaufen helfen? Meine Tochter ist krank und ich kann nicht weg."
    assert worth_offering(detect_language(german), "nl", shipped) is None


# The compact profiles (domain/language_profiles.py) against langdetect's own dense ones: the same numbers.
PROFILES = Path(langdetect.__file__).parent / "profiles"
TEXTS = [
    *SAMPLES.values(),
    # The same requests and replies as the family messages that matter here, shorter and longer.
    "Hallo, misschien kan iemand helpen, ik weet het niet precies, we zien wel",
    "Dank je wel voor de hulp gisteren, de kinderen vonden het heel fijn om even buiten te spelen.",
    "Thank you so much, the soup was lovely and the kids slept well for the first time in days.",
    "شكرا جزيلا على المساعدة، الأطفال بخير الآن والحمد لله",
    "Çok teşekkür ederim, çocuklar artık daha iyi ve yarın okula gidebilirler.",
    "Dziękuję bardzo za pomoc, dzieci czują się już lepiej i jutro pójdą do szkoły.",
    "Дуже дякую за допомогу, діти вже почуваються краще і завтра підуть до школи.",
    # Other languages of the neighbourhood and beyond, in several scripts.
    "Kann mir morgen jemand beim Einkaufen helfen? Meine Tochter ist krank und ich kann nicht weg.",
    "Quelqu'un peut-il m'aider à faire les courses demain après-midi ? Ma fille est malade.",
    "¿Alguien puede ayudarme mañana por la tarde con la compra? Mi hija está enferma.",
    "Qualcuno può aiutarmi domani pomeriggio con la spesa? Mia figlia è malata e non posso uscire.",
    "Alguém pode me ajudar amanhã à tarde com as compras? A minha filha está doente.",
    "Может ли кто-нибудь помочь мне завтра с покупками? Моя дочь больна, и я не могу выйти.",
    "Може ли някой да ми помогне утре с пазаруването? Дъщеря ми е болна и не мога да изляза.",
    "Μπορεί κάποιος να με βοηθήσει αύριο με τα ψώνια; Η κόρη μου είναι άρρωστη.",
    "האם מישהו יכול לעזור לי מחר עם הקניות? הבת שלי חולה ואני לא יכולה לצאת.",
    "آیا کسی می‌تواند فردا در خرید به من کمک کند؟ دخترم بیمار است و نمی‌توانم بیرون بروم.",
    "کیا کوئی کل خریداری میں میری مدد کر سکتا ہے؟ میری بیٹی بیمار ہے اور میں باہر نہیں جا سکتی۔",
    "क्या कोई कल खरीदारी में मेरी मदद कर सकता है? मेरी बेटी बीमार है और मैं बाहर नहीं जा सकती।",
    "কেউ কি আগামীকাল কেনাকাটায় আমাকে সাহায্য করতে পারবেন? আমার মেয়ে অসুস্থ।",
    "明天下午有人能帮我去买东西吗？我女儿生病了，我不能出门。",
    "明天下午有人能幫我去買東西嗎？我女兒生病了，我不能出門。",
    "明日の午後、買い物を手伝ってくれる人はいますか？娘が病気で出かけられません。",
    "내일 오후에 장보는 것을 도와줄 사람이 있나요? 딸이 아파서 나갈 수가 없어요.",
    "พรุ่งนี้บ่ายมีใครช่วยฉันซื้อของได้ไหม ลูกสาวของฉันป่วยและฉันออกไปไม่ได้",
    "Có ai có thể giúp tôi đi chợ vào chiều mai không? Con gái tôi bị ốm.",
    "Kan någon hjälpa mig att handla i morgon eftermiddag? Min dotter är sjuk.",
    "Kan nogen hjælpe mig med at handle i morgen eftermiddag? Min datter er syg.",
    "Kan noen hjelpe meg med handlingen i morgen ettermiddag? Datteren min er syk.",
    "Voiko joku auttaa minua ostoksissa huomenna iltapäivällä? Tyttäreni on sairas.",
    "Kas keegi saaks mind homme pärastlõunal poes käimisega aidata? Mu tütar on haige.",
    "Tud valaki segíteni holnap délután a bevásárlásban? A lányom beteg.",
    "Může mi někdo zítra odpoledne pomoct s nákupem? Moje dcera je nemocná.",
    "Môže mi niekto zajtra popoludní pomôcť s nákupom? Moja dcéra je chorá.",
    "Mă poate ajuta cineva mâine după-amiază cu cumpărăturile? Fiica mea este bolnavă.",
    "Može li mi netko sutra poslijepodne pomoći s kupovinom? Moja kći je bolesna.",
    "Bisakah seseorang membantu saya berbelanja besok sore? Putri saya sedang sakit.",
    "Je, kuna mtu anaweza kunisaidia kununua vitu kesho mchana? Binti yangu ni mgonjwa.",
    "Qof ma i caawin karaa berri galabta wax iibsiga? Gabadhayda ayaa xanuunsan.",
    "Kan iemand my môre help met inkopies? My dogter is siek en ek kan nie uitgaan nie.",
    "A mund të më ndihmojë dikush nesër pasdite me pazarin? Vajza ime është e sëmurë.",
    # Mixed and borderline: two languages at once, a few words, names and numbers.
    "Ik wil graag hulp met de boodschappen morgen, but I do not know when my husband comes home tonight",
    "Sorry voor de late reactie maar ja, mein Kind ist krank und ich kann heute wirklich nicht kommen",
    "Merhaba, ik ben Ayşe, yarın gelemiyorum want mijn zoon is ziek, sorry!",
    "Привіт! Dziękuję, maar ik begrijp het niet goed, sorry",
    "OK thanks, see you at the Albert Heijn on the Kanaalstraat at 15:30",
    "Merhaba nasılsın",
    "Dank je wel!",
    "Hi",
    "ok",
    "12:30 ok?",
    "👍👍👍 🙏",
    "https://example.org/a/very/long/path/with/words /start @someone",
]


def _probabilities(factory: DetectorFactory, text: str) -> tuple[list[tuple[str, float]], list[float]] | None:
    """langdetect's answer for a text (the languages above 0.1, and every language's probability), or None."""
    detector = factory.create()
    detector.append(text)
    try:
        found = detector.get_probabilities()
    except LangDetectException:
        return None
    return [(language.lang, language.prob) for language in found], list(detector.langprob)


@pytest.fixture(scope="module")
def stock() -> DetectorFactory:
    """langdetect's own factory and dense rows, given the profiles in the compact one's (sorted) order.

    langdetect's `load_profile` reads them in os.listdir order, and the order of the languages changes the
    last bits of a probability; `load_json_profile` takes them in the order given."""
    factory = DetectorFactory()
    factory.load_json_profile([path.read_text(encoding="utf-8") for path in sorted(PROFILES.iterdir())])
    factory.set_seed(SEED)
    return factory


def test_the_compact_profiles_give_exactly_langdetects_probabilities(stock: DetectorFactory) -> None:
    compact = _factory()
    assert isinstance(compact.create(), CompactDetector)
    assert compact.seed == stock.seed == SEED and compact.langlist == stock.langlist
    assert len(TEXTS) >= 40
    found = {text: _probabilities(compact, text) for text in TEXTS}
    assert found == {text: _probabilities(stock, text) for text in TEXTS}
    # The set is varied: most texts are detected, in many languages, and some are not.
    detected = [answer[0][0][0] for answer in found.values() if answer is not None]
    assert len(set(detected)) >= 30 and len(detected) < len(TEXTS)


def test_the_compact_map_holds_the_same_ngrams_and_non_zero_values(stock: DetectorFactory) -> None:
    compact = _factory().word_lang_prob_map
    assert compact.keys() == stock.word_lang_prob_map.keys()
    for word, row in stock.word_lang_prob_map.items():
        assert list(PAIR.iter_unpack(compact[word])) == [(index, prob) for index, prob in enumerate(row) if prob]


def test_langdetects_own_loading_order_gives_the_same_answers() -> None:
    factory = DetectorFactory()
    factory.load_profile(str(PROFILES))
    factory.set_seed(SEED)
    for text in TEXTS:
        ours, theirs = _probabilities(_factory(), text), _probabilities(factory, text)
        assert (ours is None) == (theirs is None), text
        if ours is not None and theirs is not None:
            assert dict(ours[0]) == pytest.approx(dict(theirs[0]), abs=1e-6), text
