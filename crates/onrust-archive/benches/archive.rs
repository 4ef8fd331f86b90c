//! The archive benchmarks of issue 4, as a bench command (`harness = false`):
//!
//! - **index**: the archive (`ArchiveWriter::upsert` + `commit`) beside bare
//!   tantivy indexing the same messages with the same schema, analyzers,
//!   memory budget, thread count and commit cadence (every 50,000, the
//!   daemon's `commit_max_docs`), in the same run, alternating which goes
//!   first, after one uncounted warm-up run of each. Both are timed from
//!   `&[ScoredMessage]` to the last commit returning: the baseline pays for
//!   `bench_support::document` as the archive pays for its own conversion
//!   inside `upsert`. The archive also does what bare tantivy does not: a
//!   delete-by-id per upsert, one index per week of fetch time (so a writer
//!   per bucket and a commit when a third bucket opens) and the cross-bucket
//!   id check; that is measured as it is. Bare tantivy's background merges
//!   run inside its timed span; the time to wait for the last ones is shown
//!   apart.
//! - **search**: p50/p90/p99 of two-term queries with a municipality filter
//!   (with and without facets, by relevance and by time) on a 1,000,000-message
//!   archive, built once and cached under `$CARGO_TARGET_DIR/onrust-bench/`;
//!   index bytes per message.
//! - **counts**: `ArchiveReader::counts` over the last hour and day of that archive.
//!
//! `scripts/bench archive`, or `cargo bench -p onrust-archive --bench archive
//! [-- index|search|counts|build|sweep|diag|ours|bare ...]` (default: index, search,
//! counts). `build` only builds (or finds) the 1,000,000-message archive, for
//! the console's render benchmark (`crates/onrust-web/benches/console.rs`). `sweep` tries 1 and 2 indexing threads with 32, 64 and 128 MiB
//! each; `diag` times variants that locate the archive's overhead; `ours` and
//! `bare` run one side alone (for a profiler).
//!
//! Environment: `ARCHIVE_BENCH_INDEX_N` (200000), `ARCHIVE_BENCH_RUNS` (3),
//! `ARCHIVE_BENCH_THREADS` (2), `ARCHIVE_BENCH_MEMORY_MB` (64, per thread),
//! `ARCHIVE_BENCH_SEARCHES` (1000), `ARCHIVE_BENCH_ARCHIVE_N` (1000000),
//! `ARCHIVE_BENCH_ARCHIVE_DIR` (where the big archive is kept instead of
//! `$CARGO_TARGET_DIR/onrust-bench/archive-1m/<key>`; rebuilt there when its
//! `bench-key` differs).
//!
//! The machine is shared and virtual: each measurement first waits (at most
//! two minutes) for a second in which other processes use under a tenth of a
//! core, and reports how many cores' worth of CPU they used meanwhile (from
//! `/proc`); an indexing pair they disturbed is shown but not counted, and
//! run again.
//!
//! The messages are synthetic and deterministic (a seeded xorshift): ~280
//! characters of Dutch-looking text drawn with Zipf-like frequencies from
//! ~3,500 word forms (function words, nouns with plurals and diminutives,
//! compounds, verb forms, adjectives, places, numbers), 90% `nl`, 7% `en`,
//! 3% other; 1–2 real CBS municipality codes skewed towards Utrecht, 0–2
//! themes, levels mostly 0/1, 50,000 author pseudonyms, fetch times spread
//! over 8 weeks in fetch order (as the bus delivers them); from level 1 an
//! explanation (themes; from level 2 a clause, a call and a target) on words
//! of the text, which the archive stores.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use onrust_archive::{
    ArchiveOptions, ArchiveReader, ArchiveWriter, CountRequest, Period, SearchRequest, Sort, bench_support,
};
use onrust_model::{Level, MunicipalityCode, ScoredMessage, SourceKind};
use onrust_testkit::scored_message;
use tantivy::indexer::IndexWriterOptions;
use tantivy::{Index, IndexWriter, TantivyDocument, Term};

/// The allocator the daemon uses (see the onrust binary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Res<T> = Result<T, Box<dyn Error>>;

/// Other processes' CPU (in cores) above which an indexing run is not counted.
const DISTURBED: f64 = 0.15;
/// The daemon's `archive.commit_max_docs` default: ours and bare commit this often.
const COMMIT_EVERY: usize = 50_000;
/// Change when the generator or the build of the cached archive changes.
const ARCHIVE_VERSION: &str = "v1";
const SEED: u64 = 0x0e5a_2026_0004;
const WEEKS: i64 = 8;

// ---------------------------------------------------------------- randomness

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(splitmix(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n < 2^32).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Rank `r` (0-based) drawn with probability ∝ 1/(r+1)^s.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|r| {
                acc += 1.0 / (r as f64).powf(s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

// ---------------------------------------------------------------- vocabulary

const NL_FUNCTION: &[&str] = &[
    "de", "het", "een", "en", "van", "in", "op", "is", "te", "dat", "die", "met", "voor", "niet", "zijn", "er", "aan",
    "ook", "als", "bij", "om", "maar", "nog", "door", "over", "naar", "uit", "of", "wordt", "tegen", "geen", "dan",
    "al", "wel", "heeft", "zo", "was", "we", "ze", "deze", "kan", "moet", "meer", "veel", "na", "nu", "hier", "onze",
    "hun", "wat", "wie", "waar", "toen", "omdat", "want", "zegt", "volgens", "tijdens", "sinds", "vanaf", "rond",
    "even", "weer", "echt", "gewoon", "alleen", "iedereen", "niemand", "jullie", "mijn", "jij", "ik", "je", "zich",
];

const NL_NOUNS: &[&str] = &[
    "politie",
    "agent",
    "demonstratie",
    "protest",
    "boer",
    "trekker",
    "snelweg",
    "gemeente",
    "burgemeester",
    "raad",
    "wijk",
    "buurt",
    "bewoner",
    "jongere",
    "vuurwerk",
    "brand",
    "auto",
    "bus",
    "trein",
    "station",
    "plein",
    "straat",
    "school",
    "kerk",
    "moskee",
    "azc",
    "opvang",
    "asielzoeker",
    "vluchteling",
    "stikstof",
    "klimaat",
    "actie",
    "blokkade",
    "rel",
    "relschopper",
    "noodverordening",
    "samenscholing",
    "verbod",
    "oproep",
    "bericht",
    "nieuws",
    "video",
    "foto",
    "avond",
    "nacht",
    "dag",
    "week",
    "maand",
    "jaar",
    "groep",
    "menigte",
    "winkel",
    "markt",
    "centrum",
    "haven",
    "park",
    "veld",
    "dorp",
    "stad",
    "provincie",
    "land",
    "regering",
    "minister",
    "kabinet",
    "partij",
    "verkiezing",
    "debat",
    "besluit",
    "plan",
    "regel",
    "wet",
    "rechter",
    "rechtbank",
    "zaak",
    "verdachte",
    "arrestatie",
    "aanhouding",
    "boete",
    "schade",
    "ruit",
    "steen",
    "bord",
    "hek",
    "container",
    "fiets",
    "scooter",
    "lawaai",
    "overlast",
    "veiligheid",
    "toezicht",
    "camera",
    "handhaving",
    "boa",
    "brandweer",
    "ambulance",
    "ziekenhuis",
    "zorg",
    "leraar",
    "student",
    "universiteit",
    "werk",
    "baan",
    "geld",
    "prijs",
    "huur",
    "woning",
    "huis",
    "energie",
    "gas",
    "stroom",
    "boerderij",
    "koe",
    "mest",
    "natuur",
    "water",
    "dijk",
    "weg",
    "verkeer",
    "file",
    "ongeluk",
    "slachtoffer",
    "getuige",
    "melding",
    "onderzoek",
    "rapport",
    "cijfer",
    "aantal",
    "euro",
    "inwoner",
    "ouder",
    "kind",
    "vrouw",
    "man",
    "familie",
    "vriend",
    "collega",
    "buurman",
    "voetbal",
    "wedstrijd",
    "supporter",
    "stadion",
    "club",
    "feest",
    "festival",
    "concert",
    "muziek",
    "café",
    "terras",
    "kroeg",
    "horeca",
    "ondernemer",
    "bedrijf",
    "fabriek",
    "vakbond",
    "staking",
    "loon",
    "pensioen",
    "belasting",
    "subsidie",
    "begroting",
    "wethouder",
    "coalitie",
    "oppositie",
    "petitie",
    "handtekening",
    "spandoek",
    "leus",
    "vlag",
    "mars",
    "route",
    "tocht",
    "bijeenkomst",
    "vergadering",
    "informatieavond",
    "inspraak",
    "onrust",
    "spanning",
    "woede",
    "angst",
    "geweld",
    "dreiging",
    "bedreiging",
    "intimidatie",
    "vernieling",
    "brandstichting",
    "plundering",
    "traangas",
    "waterkanon",
    "charge",
    "mes",
    "wapen",
    "drugs",
    "criminaliteit",
    "jeugd",
    "hangjongere",
    "app",
    "kanaal",
    "account",
    "reactie",
    "draad",
    "forum",
    "coördinatie",
    "reünie",
    "ruïne",
    "sinterklaas",
    "intocht",
    "jaarwisseling",
    "oudjaar",
    "carbid",
    "kerstboom",
    "mobiel",
    "telefoon",
    "bank",
    "supermarkt",
    "bakker",
    "kapper",
    "garage",
    "loods",
    "schuur",
    "tent",
    "podium",
    "microfoon",
    "toespraak",
    "spreker",
    "organisator",
    "deelnemer",
    "toeschouwer",
    "journalist",
    "krant",
    "omroep",
    "zender",
    "website",
    "internet",
    "bron",
    "gerucht",
    "feit",
];

const NL_VERBS: &[(&str, &str)] = &[
    ("lopen", "loop"),
    ("rijden", "rijd"),
    ("gooien", "gooi"),
    ("roepen", "roep"),
    ("zeggen", "zeg"),
    ("melden", "meld"),
    ("vragen", "vraag"),
    ("willen", "wil"),
    ("komen", "kom"),
    ("houden", "houd"),
    ("maken", "maak"),
    ("horen", "hoor"),
    ("blokkeren", "blokkeer"),
    ("protesteren", "protesteer"),
    ("demonstreren", "demonstreer"),
    ("verzamelen", "verzamel"),
    ("arresteren", "arresteer"),
    ("verbieden", "verbied"),
    ("ingrijpen", "grijp"),
    ("stoppen", "stop"),
    ("bellen", "bel"),
    ("posten", "post"),
    ("delen", "deel"),
    ("steunen", "steun"),
    ("eisen", "eis"),
    ("weigeren", "weiger"),
    ("praten", "praat"),
    ("spreken", "spreek"),
    ("schrijven", "schrijf"),
    ("lezen", "lees"),
    ("wachten", "wacht"),
    ("rennen", "ren"),
    ("vluchten", "vlucht"),
    ("slaan", "sla"),
    ("schoppen", "schop"),
    ("bekogelen", "bekogel"),
    ("vernielen", "verniel"),
    ("afsteken", "steek"),
    ("aansteken", "steek"),
    ("opruimen", "ruim"),
    ("waarschuwen", "waarschuw"),
    ("dreigen", "dreig"),
    ("kondigen", "kondig"),
    ("organiseren", "organiseer"),
    ("escaleren", "escaleer"),
    ("filmen", "film"),
    ("juichen", "juich"),
    ("zingen", "zing"),
    ("branden", "brand"),
    ("sluiten", "sluit"),
];

const NL_ADJECTIVES: &[&str] = &[
    "groot",
    "klein",
    "nieuw",
    "oud",
    "boos",
    "rustig",
    "onrustig",
    "gewelddadig",
    "vreedzaam",
    "zwaar",
    "snel",
    "laat",
    "vroeg",
    "lang",
    "kort",
    "hard",
    "zacht",
    "stil",
    "druk",
    "vol",
    "leeg",
    "veilig",
    "onveilig",
    "gevaarlijk",
    "bang",
    "blij",
    "kwaad",
    "moe",
    "sterk",
    "zwak",
    "hoog",
    "laag",
    "breed",
    "warm",
    "koud",
    "nat",
    "donker",
    "licht",
    "duidelijk",
    "lokaal",
    "landelijk",
    "extra",
    "volgend",
    "vorig",
    "heel",
    "erg",
    "behoorlijk",
    "financieel",
    "officieel",
    "illegaal",
    "legaal",
    "spontaan",
    "massaal",
    "agressief",
    "grimmig",
];

const NL_PLACES: &[&str] = &[
    "Kanaleneiland",
    "Overvecht",
    "Lombok",
    "Zuilen",
    "Leidsche",
    "Rijn",
    "Hoograven",
    "Ondiep",
    "Vathorst",
    "Schilderswijk",
    "Bijlmer",
    "Slotervaart",
    "Feijenoord",
    "Malburgen",
    "Presikhaaf",
    "Selwerd",
    "Paddepoel",
    "Jaarbeursplein",
    "Domplein",
    "Neude",
    "Malieveld",
    "Dam",
    "Museumplein",
    "Coolsingel",
    "Stratumseind",
    "Vredenburg",
    "Binnenhof",
    "Griftpark",
    "Catharijnesingel",
    "Oudegracht",
    "Lunetten",
    "Tuindorp",
    "Wittevrouwen",
    "Transwijk",
    "Hoogland",
    "Soesterkwartier",
    "Kattenbroek",
    "Nieuwland",
    "Haven",
    "Stadshart",
    "Muziekwijk",
    "Poort",
    "Buiten",
    "Hout",
    "Kruiskamp",
    "Liendert",
    "Schothorst",
    "Randenbroek",
    "Rijnsweerd",
    "Galgenwaard",
];

const NL_NUMBERS: &[&str] = &[
    "A12",
    "A2",
    "A27",
    "A28",
    "A1",
    "A4",
    "N201",
    "N225",
    "20:00",
    "21:30",
    "22:00",
    "14:00",
    "19.30",
    "2024",
    "2025",
    "2026",
    "12",
    "35",
    "100",
    "200",
    "duizenden",
    "honderden",
    "tientallen",
    "1",
    "2",
    "3",
    "5",
    "10",
    "50",
    "zaterdag",
    "zondag",
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "januari",
    "december",
    "november",
    "oktober",
    "juni",
    "juli",
    "vanavond",
    "vannacht",
    "morgen",
    "gisteren",
    "vandaag",
    "straks",
    "14u",
    "112",
];

const EN_FUNCTION: &[&str] = &[
    "the", "a", "to", "of", "and", "in", "is", "on", "for", "that", "with", "at", "are", "was", "it", "this", "they",
    "be", "by", "from", "not", "no", "we", "our", "their", "has", "have", "will", "after", "before", "who",
];

const EN_WORDS: &[&str] = &[
    "police",
    "protest",
    "farmer",
    "tractor",
    "highway",
    "city",
    "mayor",
    "council",
    "riot",
    "fireworks",
    "fire",
    "car",
    "station",
    "square",
    "street",
    "school",
    "mosque",
    "asylum",
    "refugee",
    "nitrogen",
    "climate",
    "action",
    "blockade",
    "emergency",
    "ban",
    "call",
    "news",
    "video",
    "night",
    "day",
    "week",
    "people",
    "group",
    "crowd",
    "shop",
    "market",
    "centre",
    "government",
    "minister",
    "party",
    "election",
    "court",
    "judge",
    "arrest",
    "fine",
    "damage",
    "window",
    "stone",
    "bike",
    "noise",
    "safety",
    "camera",
    "hospital",
    "student",
    "work",
    "money",
    "rent",
    "house",
    "energy",
    "water",
    "road",
    "traffic",
    "accident",
    "victim",
    "witness",
    "report",
    "investigation",
    "resident",
    "parent",
    "child",
    "woman",
    "man",
    "family",
    "friend",
    "football",
    "match",
    "fan",
    "stadium",
    "party",
    "festival",
    "music",
    "bar",
    "business",
    "union",
    "strike",
    "tax",
    "budget",
    "petition",
    "banner",
    "flag",
    "march",
    "meeting",
    "anger",
    "fear",
    "violence",
    "threat",
    "vandalism",
    "arson",
    "looting",
    "teargas",
    "knife",
    "weapon",
    "youth",
    "channel",
    "account",
    "post",
    "thread",
    "march",
    "block",
    "gather",
    "throw",
    "say",
    "warn",
    "organise",
    "film",
    "sing",
    "burn",
    "close",
    "angry",
    "calm",
    "violent",
    "peaceful",
    "heavy",
    "fast",
    "late",
    "early",
    "large",
    "small",
    "new",
    "old",
    "dangerous",
    "local",
    "national",
    "Utrecht",
    "Amsterdam",
    "Rotterdam",
    "Hague",
    "Dutch",
    "Netherlands",
    "tonight",
    "tomorrow",
    "Saturday",
    "Sunday",
];

const OTHER_WORDS: &[&str] = &[
    "die",
    "der",
    "das",
    "und",
    "ist",
    "nicht",
    "mit",
    "auf",
    "polizei",
    "demonstration",
    "protest",
    "stadt",
    "bauern",
    "heute",
    "abend",
    "gewalt",
    "menschen",
    "strasse",
    "feuerwerk",
    "le",
    "la",
    "les",
    "et",
    "est",
    "pas",
    "avec",
    "sur",
    "police",
    "manifestation",
    "ville",
    "agriculteurs",
    "ce",
    "soir",
    "violence",
    "gens",
    "rue",
    "policja",
    "protest",
    "miasto",
    "dzisiaj",
    "ludzie",
    "ulica",
    "polis",
    "eylem",
    "bugun",
    "insanlar",
    "sokak",
    "Utrecht",
    "Amsterdam",
    "Rotterdam",
    "Niederlande",
    "Pays-Bas",
    "Holandia",
    "Hollanda",
];

const MUNICIPALITIES: &[(&str, &str)] = &[
    ("GM0344", "Utrecht"),
    ("GM0363", "Amsterdam"),
    ("GM0599", "Rotterdam"),
    ("GM0307", "Amersfoort"),
    ("GM0518", "Den Haag"),
    ("GM0034", "Almere"),
    ("GM0355", "Zeist"),
    ("GM0356", "Nieuwegein"),
    ("GM0772", "Eindhoven"),
    ("GM0014", "Groningen"),
    ("GM0855", "Tilburg"),
    ("GM0758", "Breda"),
    ("GM0268", "Nijmegen"),
    ("GM0202", "Arnhem"),
    ("GM0392", "Haarlem"),
    ("GM0153", "Enschede"),
    ("GM0200", "Apeldoorn"),
    ("GM0546", "Leiden"),
    ("GM0193", "Zwolle"),
    ("GM0080", "Leeuwarden"),
    ("GM0935", "Maastricht"),
    ("GM0505", "Dordrecht"),
    ("GM0503", "Delft"),
    ("GM0796", "Den Bosch"),
    ("GM0479", "Zaanstad"),
    ("GM0184", "Urk"),
    ("GM0995", "Lelystad"),
    ("GM0321", "Houten"),
    ("GM0637", "Zoetermeer"),
    ("GM0394", "Haarlemmermeer"),
    ("GM0402", "Hilversum"),
    ("GM0228", "Ede"),
    ("GM0150", "Deventer"),
    ("GM0983", "Venlo"),
    ("GM0917", "Heerlen"),
    ("GM0361", "Alkmaar"),
    ("GM0114", "Emmen"),
    ("GM0106", "Assen"),
    ("GM0310", "De Bilt"),
    ("GM0632", "Woerden"),
];

const THEMES: &[&str] =
    &["stikstof", "jaarwisseling", "corona", "klimaat", "asiel", "zwarte_piet", "oekraine", "demonstratie"];

const SOURCES: &[(&str, SourceKind, &str)] = &[
    ("nos", SourceKind::Feed, "nos.nl/artikel"),
    ("rtvutrecht", SourceKind::Feed, "www.rtvutrecht.nl/nieuws"),
    ("ad-utrecht", SourceKind::Feed, "www.ad.nl/utrecht"),
    ("nu-binnenland", SourceKind::Feed, "www.nu.nl/binnenland"),
    ("omroep-flevoland", SourceKind::Feed, "www.omroepflevoland.nl/nieuws"),
    ("at5", SourceKind::Feed, "www.at5.nl/artikelen"),
    ("rijnmond", SourceKind::Feed, "www.rijnmond.nl/nieuws"),
    ("gemeente-utrecht", SourceKind::Feed, "www.utrecht.nl/nieuws"),
    ("mastodon-nl", SourceKind::Mastodon, "mastodon.nl/@u"),
    ("mastodon-social", SourceKind::Mastodon, "mastodon.social/@u"),
    ("toot-community", SourceKind::Mastodon, "toot.community/@u"),
    ("bluesky", SourceKind::Bluesky, "bsky.app/profile/p"),
    ("telegram-nl-kanaal", SourceKind::Telegram, "t.me/kanaal"),
    ("telegram-boerenprotest", SourceKind::Telegram, "t.me/boerenprotest"),
    ("reddit-thenetherlands", SourceKind::Reddit, "www.reddit.com/r/thenetherlands/comments"),
    ("reddit-utrecht", SourceKind::Reddit, "www.reddit.com/r/utrecht/comments"),
    ("youtube", SourceKind::Youtube, "www.youtube.com/watch"),
];

/// Weight of each source (same order as `SOURCES`).
const SOURCE_WEIGHTS: &[u32] = &[6, 5, 5, 5, 3, 3, 3, 2, 8, 6, 5, 12, 8, 5, 7, 4, 3];

/// Everything the generator draws from, built once.
struct Vocab {
    /// Dutch words by rank (function words first).
    nl: Vec<String>,
    nl_zipf: Zipf,
    /// Rank of the first content word in `nl`.
    nl_content: usize,
    en: Vec<String>,
    en_zipf: Zipf,
    other: Vec<String>,
    other_zipf: Zipf,
    municipalities: Zipf,
    themes: Zipf,
    authors: Vec<String>,
    author_zipf: Zipf,
    sources: Vec<usize>,
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

fn dedup_keep_order(words: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    words.into_iter().filter(|w| seen.insert(w.clone())).collect()
}

impl Vocab {
    fn new() -> Vocab {
        let mut rng = Rng::new(SEED ^ 0xabc);
        // Base forms are common, inflections and compounds rarer: two shuffled tiers.
        let mut common: Vec<String> = Vec::new();
        let mut rare: Vec<String> = Vec::new();
        for noun in NL_NOUNS {
            common.push((*noun).to_owned());
            let plural = if noun.ends_with('e') || noun.ends_with('o') || noun.ends_with("er") {
                format!("{noun}s")
            } else {
                format!("{noun}en")
            };
            rare.push(plural);
            rare.push(format!("{noun}je"));
        }
        for (infinitive, stem) in NL_VERBS {
            common.push((*infinitive).to_owned());
            common.push(format!("{stem}t"));
            rare.push((*stem).to_owned());
            rare.push(format!("{stem}de"));
            rare.push(format!("ge{stem}d"));
        }
        for adjective in NL_ADJECTIVES {
            common.push((*adjective).to_owned());
            rare.push(format!("{adjective}e"));
            rare.push(format!("{adjective}er"));
            rare.push(format!("{adjective}ste"));
        }
        common.extend(NL_NUMBERS.iter().map(|w| (*w).to_owned()));
        common.extend(MUNICIPALITIES.iter().flat_map(|(_, name)| name.split(' ')).map(str::to_owned));
        rare.extend(NL_PLACES.iter().map(|w| (*w).to_owned()));
        for _ in 0..2200 {
            let a = rng.pick(NL_NOUNS);
            let b = rng.pick(NL_NOUNS);
            if a != b {
                let compound = format!("{a}{b}");
                rare.push(if rng.chance(0.3) { format!("{compound}en") } else { compound });
            }
        }
        shuffle(&mut common, &mut rng);
        shuffle(&mut rare, &mut rng);
        let mut nl: Vec<String> = NL_FUNCTION.iter().map(|w| (*w).to_owned()).collect();
        let nl_content = nl.len();
        nl.extend(common);
        nl.extend(rare);
        let nl = dedup_keep_order(nl);

        let mut en: Vec<String> = EN_FUNCTION.iter().map(|w| (*w).to_owned()).collect();
        let mut en_content: Vec<String> =
            EN_WORDS.iter().flat_map(|w| [(*w).to_owned(), format!("{w}s"), format!("{w}ed")]).collect();
        shuffle(&mut en_content, &mut rng);
        en.extend(en_content);
        let en = dedup_keep_order(en);
        let other = dedup_keep_order(OTHER_WORDS.iter().map(|w| (*w).to_owned()).collect());

        let authors = (0..50_000u64)
            .map(|i| {
                let mut hex = String::with_capacity(64);
                for k in 0..4 {
                    hex.push_str(&format!("{:016x}", splitmix(SEED ^ (i << 2 | k))));
                }
                hex
            })
            .collect();
        let sources =
            SOURCE_WEIGHTS.iter().enumerate().flat_map(|(i, &w)| std::iter::repeat_n(i, w as usize)).collect();
        Vocab {
            nl_zipf: Zipf::new(nl.len(), 1.0),
            nl,
            nl_content,
            en_zipf: Zipf::new(en.len(), 1.0),
            en,
            other_zipf: Zipf::new(other.len(), 0.8),
            other,
            municipalities: Zipf::new(MUNICIPALITIES.len(), 1.0),
            themes: Zipf::new(THEMES.len(), 0.8),
            author_zipf: Zipf::new(50_000, 0.6),
            authors,
            sources,
        }
    }
}

// ---------------------------------------------------------------- messages

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Sentences of words until the next would pass `max_chars` characters;
/// words of rank below `min_rank` are drawn again (titles skip function words).
fn text(
    rng: &mut Rng,
    words: &[String],
    zipf: &Zipf,
    min_rank: usize,
    place: Option<&str>,
    max_chars: usize,
) -> String {
    let mut out = String::with_capacity(max_chars + 16);
    let mut chars = 0;
    let mut in_sentence = 0;
    let mut sentence_len = 6 + rng.below(10);
    let mut misses = 0;
    let place_at = rng.below(30);
    let mut n = 0;
    while misses < 8 {
        let mut word = match place {
            Some(place) if n == place_at => place.to_owned(),
            _ => {
                let mut rank = zipf.sample(rng);
                while rank < min_rank {
                    rank = zipf.sample(rng);
                }
                words[rank].clone()
            }
        };
        if in_sentence == 0 {
            word = capitalise(&word);
        }
        in_sentence += 1;
        let end = if in_sentence >= sentence_len {
            in_sentence = 0;
            sentence_len = 6 + rng.below(10);
            match rng.below(10) {
                0 => "!",
                1 => "?",
                _ => ".",
            }
        } else {
            ""
        };
        let add = word.chars().count() + end.len() + usize::from(chars > 0);
        if chars + add > max_chars {
            misses += 1;
            continue;
        }
        if chars > 0 {
            out.push(' ');
        }
        out.push_str(&word);
        out.push_str(end);
        chars += add;
        n += 1;
    }
    out
}

fn utc_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Message `i` of `n`, fetched in order over the `WEEKS` weeks before `end`.
/// Deterministic in (`i`, `n`, `end`).
fn message(v: &Vocab, i: usize, n: usize, end: DateTime<Utc>) -> ScoredMessage {
    let mut rng = Rng::new(SEED ^ (i as u64).wrapping_mul(0x9e37_79b9));
    let span_ms = WEEKS * 7 * 24 * 3_600_000;
    let step = span_ms / n as i64;
    let fetched = utc_ms(end.timestamp_millis() - span_ms + step * i as i64 + rng.below(step.max(1) as usize) as i64);
    let cet = FixedOffset::east_opt(3600).expect("a valid offset");
    let published = (!rng.chance(0.05)).then(|| (fetched - TimeDelta::hours(1)).with_timezone(&cet));

    let source_ix = *rng.pick(&v.sources);
    let (source, kind, path) = SOURCES[source_ix];
    let mut municipalities = vec![v.municipalities.sample(&mut rng)];
    if rng.chance(0.2) {
        let second = v.municipalities.sample(&mut rng);
        if second != municipalities[0] {
            municipalities.push(second);
        }
    }
    let place = rng.chance(0.6).then(|| MUNICIPALITIES[municipalities[0]].1);
    let lang_roll = rng.unit();
    let title_chars = 40 + rng.below(40);
    let (lang, title, body) = if lang_roll < 0.90 {
        let title = text(&mut rng, &v.nl, &v.nl_zipf, v.nl_content, None, title_chars);
        ("nl".to_owned(), title, text(&mut rng, &v.nl, &v.nl_zipf, 0, place, 280))
    } else if lang_roll < 0.97 {
        let title = text(&mut rng, &v.en, &v.en_zipf, EN_FUNCTION.len(), None, title_chars);
        ("en".to_owned(), title, text(&mut rng, &v.en, &v.en_zipf, 0, place, 280))
    } else {
        let lang = *rng.pick(&["de", "fr", "pl", "tr"]);
        let title = text(&mut rng, &v.other, &v.other_zipf, 0, None, title_chars);
        (lang.to_owned(), title, text(&mut rng, &v.other, &v.other_zipf, 0, place, 280))
    };
    let mut themes = Vec::new();
    let theme_roll = rng.unit();
    for _ in 0..usize::from(theme_roll >= 0.5) + usize::from(theme_roll >= 0.85) {
        let theme = THEMES[v.themes.sample(&mut rng)];
        if !themes.iter().any(|t| t == theme) {
            themes.push(theme.to_owned());
        }
    }
    let level_roll = rng.unit();
    let level = match level_roll {
        r if r < 0.55 => Level::None,
        r if r < 0.88 => Level::Discussion,
        r if r < 0.97 => Level::Mobilisation,
        _ => Level::Escalation,
    };
    let score = (f64::from(level.as_u8()) * 0.25 + rng.unit() * 0.25) as f32;
    let event_time = (rng.chance(if level >= Level::Mobilisation { 0.6 } else { 0.03 })).then(|| {
        (fetched + TimeDelta::days(1 + rng.below(6) as i64) + TimeDelta::hours(rng.below(12) as i64))
            .with_timezone(&cet)
    });
    let explanation = explanation_of(&body, &themes, level);
    let author =
        (kind != SourceKind::Feed || rng.chance(0.3)).then(|| v.authors[v.author_zipf.sample(&mut rng)].as_str());
    let digest = splitmix(SEED.rotate_left(17) ^ i as u64);
    let id = format!("{source}:{digest:016x}");
    let mut message = scored_message(&id)
        .source(source)
        .source_kind(kind)
        .url(&format!("https://{path}/{digest:x}"))
        .title(&title)
        .text(&body)
        .fetched_at(fetched)
        .lang(Some(lang.as_str()))
        .level(level)
        .score(score)
        .classifier_version("bench");
    message = match published {
        Some(published) => message.published_at(published),
        None => message.unpublished(),
    };
    if let Some(author) = author {
        message = message.author(author);
    }
    if kind == SourceKind::Feed {
        message = message.lang_hint("nl");
    }
    for theme in &themes {
        message = message.theme(theme);
    }
    for &m in &municipalities {
        message = message.municipality(MUNICIPALITIES[m].0);
    }
    if let Some(event_time) = event_time {
        message = message.event_time(event_time);
    }
    for signal in explanation {
        message = message.signal(&signal.signal, &signal.evidence, signal.weight);
    }
    message.build()
}

/// An explanation like the classifier's for a message at level 1 or above:
/// its themes and, from level 2, a call and a target, each on words of its
/// text (derived from the text, so the random draws stay as they were).
fn explanation_of(body: &str, themes: &[String], level: Level) -> Vec<onrust_model::Signal> {
    if level < Level::Discussion {
        return Vec::new();
    }
    let words: Vec<&str> =
        body.split_whitespace().filter(|w| w.len() > 5 && w.chars().all(char::is_alphabetic)).take(3).collect();
    let word = |i: usize| words.get(i).copied().unwrap_or("iets").to_owned();
    let mut out: Vec<onrust_model::Signal> = themes
        .iter()
        .map(|t| onrust_model::Signal { signal: format!("theme:{t}"), evidence: word(0), weight: 0.0 })
        .collect();
    if level >= Level::Mobilisation {
        out.push(onrust_model::Signal { signal: "clause".into(), evidence: words.join(" "), weight: 0.0 });
        out.push(onrust_model::Signal { signal: "call".into(), evidence: word(1), weight: 0.8 });
        out.push(onrust_model::Signal { signal: "target".into(), evidence: word(2), weight: 0.6 });
    }
    out
}

fn messages(v: &Vocab, range: std::ops::Range<usize>, n: usize, end: DateTime<Utc>) -> Vec<ScoredMessage> {
    range.map(|i| message(v, i, n, end)).collect()
}

// ---------------------------------------------------------------- helpers

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

/// `$CARGO_TARGET_DIR`, or the target directory this binary was built in.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/release/deps/archive-<hash>
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// CPU time of the whole machine and of this process, to see whether other
/// work ran during a measurement (the machine is shared).
#[derive(Clone, Copy)]
struct Cpu {
    machine: u64,
    mine: u64,
    at: Instant,
}

impl Cpu {
    fn now() -> Cpu {
        let machine = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let line = s.lines().next()?.to_owned();
                let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
                // user nice system idle iowait irq softirq steal
                Some(v.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, x)| x).sum())
            })
            .unwrap_or(0);
        let mine = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                // After the command's `)`: state, ppid, pgrp, session, tty_nr, tpgid,
                // flags, minflt, cminflt, majflt, cmajflt, utime, stime (some may be -1).
                let fields: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        Cpu { machine, mine, at: Instant::now() }
    }

    /// CPU seconds this process used since `self` (clock ticks are 1/100 s).
    fn mine_since(self) -> f64 {
        Cpu::now().mine.saturating_sub(self.mine) as f64 / 100.0
    }

    /// Cores' worth of CPU other processes used since `self`.
    fn others_since(self) -> f64 {
        let now = Cpu::now();
        let others = now.machine.saturating_sub(self.machine) as f64 - now.mine.saturating_sub(self.mine) as f64;
        (others / 100.0 / self.at.elapsed().as_secs_f64()).max(0.0)
    }
}

/// Waits (at most two minutes) for a second in which other processes use
/// less than a tenth of a core; the machine is shared. Returns the seconds waited.
fn wait_quiet() -> u64 {
    for waited in 0..120 {
        let cpu = Cpu::now();
        std::thread::sleep(Duration::from_secs(1));
        if cpu.others_since() < 0.1 {
            return waited;
        }
    }
    120
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 }
}

/// Nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn row(&mut self, label: &str, others: f64) {
        self.0.sort();
        let mean = self.0.iter().sum::<Duration>() / self.0.len().max(1) as u32;
        let s = &self.0;
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {others:.2} |",
            s.len(),
            ms(percentile(s, 50.0)),
            ms(percentile(s, 90.0)),
            ms(percentile(s, 99.0)),
            ms(s.last().copied().unwrap_or_default()),
            ms(mean)
        );
    }
}

// ---------------------------------------------------------------- indexing

#[derive(Debug, Clone, Copy)]
struct Settings {
    threads: usize,
    memory: usize,
}

impl Settings {
    fn options(self) -> ArchiveOptions {
        ArchiveOptions {
            writer_memory_bytes: self.memory,
            writer_threads: self.threads,
            bucket: Period::Week,
            retention: None,
        }
    }

    fn tantivy(self) -> IndexWriterOptions {
        IndexWriterOptions::builder().memory_budget_per_thread(self.memory).num_worker_threads(self.threads).build()
    }

    fn describe(self) -> String {
        format!(
            "{} indexing thread{}, {} MiB per thread",
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.memory >> 20
        )
    }
}

/// One timed indexing run.
struct Run {
    total: Duration,
    /// Time inside `commit` calls.
    commits: Duration,
    /// Dropping the writer after the last commit (not in `total`).
    close: Duration,
    bytes: u64,
    /// Cores' worth of CPU that other processes used during the run.
    others: f64,
    /// CPU seconds this process used during the run (all threads).
    cpu: f64,
    /// Upserts that took over 5 ms and their time: a bucket switch (the
    /// oldest open bucket is committed and closed, a new writer opened) or
    /// an indexing queue that was full.
    slow: Duration,
    slow_count: usize,
}

impl Run {
    fn rate(&self, n: usize) -> f64 {
        n as f64 / self.total.as_secs_f64()
    }
}

fn scratch(base: &Path) -> Res<tempfile::TempDir> {
    std::fs::create_dir_all(base)?;
    Ok(tempfile::TempDir::new_in(base)?)
}

fn index_ours(msgs: &[ScoredMessage], s: Settings, base: &Path) -> Res<Run> {
    let dir = scratch(base)?;
    let cpu = Cpu::now();
    let started = Instant::now();
    let mut writer = ArchiveWriter::open(dir.path(), &s.options())?;
    let mut commits = Duration::ZERO;
    let mut slow = Duration::ZERO;
    let mut slow_count = 0;
    for (k, msg) in msgs.iter().enumerate() {
        let t = Instant::now();
        writer.upsert(msg)?;
        let took = t.elapsed();
        // An upsert into a third bucket commits and closes the oldest open one.
        if took > Duration::from_millis(5) {
            slow += took;
            slow_count += 1;
        }
        if (k + 1) % COMMIT_EVERY == 0 {
            let t = Instant::now();
            writer.commit()?;
            commits += t.elapsed();
        }
    }
    if writer.pending() > 0 {
        let t = Instant::now();
        writer.commit()?;
        commits += t.elapsed();
    }
    let total = started.elapsed();
    let others = cpu.others_since();
    let cpu = cpu.mine_since();
    let t = Instant::now();
    drop(writer);
    let close = t.elapsed();
    Ok(Run { total, commits, close, bytes: dir_bytes(dir.path()), others, cpu, slow, slow_count })
}

/// Bare tantivy, one index; `delete` adds the archive's delete-by-id per document (diagnostic).
fn index_bare(msgs: &[ScoredMessage], s: Settings, base: &Path, delete: bool) -> Res<Run> {
    let dir = scratch(base)?;
    let cpu = Cpu::now();
    let started = Instant::now();
    let schema = bench_support::schema();
    let id = schema.get_field("id")?;
    let index = Index::create_in_dir(dir.path(), schema)?;
    bench_support::register_tokenizers(&index);
    let mut writer: IndexWriter<TantivyDocument> = index.writer_with_options(s.tantivy())?;
    let mut commits = Duration::ZERO;
    let mut slow = Duration::ZERO;
    let mut slow_count = 0;
    for (k, msg) in msgs.iter().enumerate() {
        let t = Instant::now();
        if delete {
            writer.delete_term(Term::from_field_text(id, msg.message.id.as_str()));
        }
        writer.add_document(bench_support::document(msg))?;
        let took = t.elapsed();
        if took > Duration::from_millis(5) {
            slow += took;
            slow_count += 1;
        }
        if (k + 1) % COMMIT_EVERY == 0 {
            let t = Instant::now();
            writer.commit()?;
            commits += t.elapsed();
        }
    }
    if !msgs.len().is_multiple_of(COMMIT_EVERY) {
        let t = Instant::now();
        writer.commit()?;
        commits += t.elapsed();
    }
    let total = started.elapsed();
    let others = cpu.others_since();
    let cpu = cpu.mine_since();
    let t = Instant::now();
    writer.wait_merging_threads()?;
    let close = t.elapsed();
    Ok(Run { total, commits, close, bytes: dir_bytes(dir.path()), others, cpu, slow, slow_count })
}

fn settle() {
    // Let the previous run's merges and page-cache writeback finish, and wait
    // for the other users of the machine to pause.
    std::thread::sleep(Duration::from_millis(1500));
    wait_quiet();
}

fn index_phase(v: &Vocab, s: Settings, base: &Path) -> Res<()> {
    let n = env_usize("ARCHIVE_BENCH_INDEX_N", 200_000);
    let runs = env_usize("ARCHIVE_BENCH_RUNS", 3);
    let t = Instant::now();
    let msgs = messages(v, 0..n, n, Utc::now());
    let generated = t.elapsed();
    let chars = msgs.iter().map(|m| m.message.text.chars().count()).sum::<usize>() as f64 / n as f64;
    let title =
        msgs.iter().map(|m| m.message.title.as_ref().map_or(0, |t| t.chars().count())).sum::<usize>() as f64 / n as f64;
    let weeks: std::collections::BTreeSet<_> =
        msgs.iter().map(|m| onrust_archive::BucketId::containing(Period::Week, m.message.fetched_at)).collect();
    println!(
        "\n== indexing {} messages (text {chars:.0} chars, title {title:.0} chars on average; generated in {:.1} s), \
         fetch times over {WEEKS} weeks = {} weekly buckets, in fetch order",
        thousands(n as f64),
        generated.as_secs_f64(),
        weeks.len()
    );
    println!(
        "   {}; commit every {} messages (ours and bare); load {}",
        s.describe(),
        thousands(COMMIT_EVERY as f64),
        loadavg()
    );
    println!();
    println!("| run | onrust archive | bare tantivy | ratio | other processes' CPU (ours / bare) |");
    println!("|---|---|---|---|---|");
    // A warm-up run of each, not counted: the first run in a process also
    // pays for getting its memory from the kernel, which a daemon does once.
    wait_quiet();
    let warm_ours = index_ours(&msgs, s, base)?;
    settle();
    let warm_bare = index_bare(&msgs, s, base, false)?;
    settle();
    println!(
        "| warm-up (not counted) | {} msg/s | {} msg/s | {:.2} | {:.2} / {:.2} cores |",
        thousands(warm_ours.rate(n)),
        thousands(warm_bare.rate(n)),
        warm_ours.rate(n) / warm_bare.rate(n),
        warm_ours.others,
        warm_bare.others
    );
    let mut ours = Vec::new();
    let mut bare = Vec::new();
    let mut ours_runs = Vec::new();
    let mut bare_runs = Vec::new();
    // Each pair waits for a quiet moment; a pair during which other processes
    // still took more than `DISTURBED` cores is shown, not counted, and run
    // again (at most `3 * runs` extra pairs).
    let mut run = 1;
    let mut attempts = 0;
    while run <= runs && attempts < 4 * runs {
        attempts += 1;
        wait_quiet();
        // Alternate which goes first, so neither always meets a warmer or busier machine.
        let (o, b) = if attempts % 2 == 1 {
            let o = index_ours(&msgs, s, base)?;
            settle();
            let b = index_bare(&msgs, s, base, false)?;
            settle();
            (o, b)
        } else {
            let b = index_bare(&msgs, s, base, false)?;
            settle();
            let o = index_ours(&msgs, s, base)?;
            settle();
            (o, b)
        };
        let disturbed = o.others > DISTURBED || b.others > DISTURBED;
        println!(
            "| {} | {} msg/s | {} msg/s | {:.2} | {:.2} / {:.2} cores |",
            if disturbed { "disturbed (not counted)".to_owned() } else { run.to_string() },
            thousands(o.rate(n)),
            thousands(b.rate(n)),
            o.rate(n) / b.rate(n),
            o.others,
            b.others
        );
        if disturbed {
            continue;
        }
        run += 1;
        ours.push(o.rate(n));
        bare.push(b.rate(n));
        ours_runs.push(o);
        bare_runs.push(b);
    }
    let (mo, mb) = (median(&ours), median(&bare));
    let ratios: Vec<f64> = ours.iter().zip(&bare).map(|(o, b)| o / b).collect();
    println!(
        "| median | {} msg/s | {} msg/s | {:.2} (median of the runs' ratios: {:.2}) | |",
        thousands(mo),
        thousands(mb),
        mo / mb,
        median(&ratios)
    );
    println!();
    for (name, list) in [("ours", &ours_runs), ("bare", &bare_runs)] {
        let commits: Vec<f64> = list.iter().map(|r| r.commits.as_secs_f64()).collect();
        let totals: Vec<f64> = list.iter().map(|r| r.total.as_secs_f64()).collect();
        let close: Vec<f64> = list.iter().map(|r| r.close.as_secs_f64()).collect();
        let slow: Vec<f64> = list.iter().map(|r| r.slow.as_secs_f64()).collect();
        let cpu: Vec<f64> = list.iter().map(|r| r.cpu).collect();
        let switches = format!(
            ", {:.2} s in {} calls over 5 ms ({})",
            median(&slow),
            list.last().map_or(0, |r| r.slow_count),
            if name == "ours" { "a bucket switch or a full indexing queue" } else { "a full indexing queue" }
        );
        println!(
            "   {name}: median {:.2} s in all, of which {:.2} s inside commit(){switches}; closing the writer \
             afterwards {:.2} s (untimed); CPU {:.1} µs/message (all threads); index {:.0} bytes/message",
            median(&totals),
            median(&commits),
            median(&close),
            median(&cpu) * 1e6 / n as f64,
            list.last().map_or(0.0, |r| r.bytes as f64 / n as f64)
        );
    }
    // What the conversion alone costs, one thread: the baseline pays this inside its total.
    let t = Instant::now();
    let mut values = 0usize;
    for msg in &msgs {
        values += bench_support::document(msg).field_values().count();
    }
    println!(
        "   bench_support::document() alone: {:.2} µs/message ({:.1} field values per document)",
        t.elapsed().as_secs_f64() * 1e6 / n as f64,
        values as f64 / n as f64
    );
    println!("   load after: {}", loadavg());
    Ok(())
}

/// Variants that show where the archive's time goes (one run each).
fn diag_phase(v: &Vocab, s: Settings, base: &Path) -> Res<()> {
    let n = env_usize("ARCHIVE_BENCH_INDEX_N", 200_000);
    let now = Utc::now();
    let spread = messages(v, 0..n, n, now);
    // The same messages, all fetched in the last week: one bucket, as in steady state.
    let one_week = {
        let week = TimeDelta::days(7);
        let start = now - TimeDelta::weeks(WEEKS);
        spread
            .iter()
            .map(|m| {
                let mut m = m.clone();
                let into = (m.message.fetched_at - start).num_milliseconds() / WEEKS;
                let fetched = now - week + TimeDelta::milliseconds(into);
                m.message.published_at =
                    m.message.published_at.map(|p| (fetched - TimeDelta::hours(1)).with_timezone(p.offset()));
                m.message.fetched_at = fetched;
                m
            })
            .collect::<Vec<_>>()
    };
    println!("\n== diagnostics, {} messages, {}, one run each (load {})", thousands(n as f64), s.describe(), loadavg());
    println!("| variant | msg/s | CPU µs/message | in commit() | in calls over 5 ms | other processes' CPU |");
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, run: Run| {
        println!(
            "| {name} | {} | {:.1} | {:.2} s | {:.2} s ({}) | {:.2} cores |",
            thousands(run.rate(n)),
            run.cpu * 1e6 / n as f64,
            run.commits.as_secs_f64(),
            run.slow.as_secs_f64(),
            run.slow_count,
            run.others
        );
    };
    // Warm-up, not shown: the first runs in a process also get their memory from the kernel.
    index_ours(&spread, s, base)?;
    settle();
    index_bare(&spread, s, base, false)?;
    settle();
    row("bare tantivy", index_bare(&spread, s, base, false)?);
    settle();
    row("bare tantivy + delete_term per document", index_bare(&spread, s, base, true)?);
    settle();
    row("onrust archive, 8 weekly buckets", index_ours(&spread, s, base)?);
    settle();
    row("onrust archive, all in one week (one bucket)", index_ours(&one_week, s, base)?);
    settle();
    row("bare tantivy, the one-week messages", index_bare(&one_week, s, base, false)?);
    Ok(())
}

fn sweep_phase(v: &Vocab, base: &Path) -> Res<()> {
    let n = env_usize("ARCHIVE_BENCH_INDEX_N", 200_000);
    let msgs = messages(v, 0..n, n, Utc::now());
    println!("\n== settings sweep, {} messages, one run each (load {})", thousands(n as f64), loadavg());
    println!("| threads | MiB per thread | onrust archive | bare tantivy | ratio | other processes' CPU |");
    println!("|---|---|---|---|---|---|");
    for threads in [1, 2] {
        for mib in [32, 64, 128] {
            let s = Settings { threads, memory: mib << 20 };
            let o = index_ours(&msgs, s, base)?;
            settle();
            let b = index_bare(&msgs, s, base, false)?;
            settle();
            println!(
                "| {threads} | {mib} | {} msg/s | {} msg/s | {:.2} | {:.2} / {:.2} cores |",
                thousands(o.rate(n)),
                thousands(b.rate(n)),
                o.rate(n) / b.rate(n),
                o.others,
                b.others
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- the 1M archive

struct BigArchive {
    dir: PathBuf,
    n: usize,
    end: DateTime<Utc>,
}

/// The cached archive of `ARCHIVE_BENCH_ARCHIVE_N` messages; built if missing.
fn big_archive(v: &Vocab, s: Settings, base: &Path) -> Res<BigArchive> {
    let n = env_usize("ARCHIVE_BENCH_ARCHIVE_N", 1_000_000);
    // The schema is part of the key: an archive written with another one would be refused.
    let schema = serde_json::to_string(&bench_support::schema())?;
    let key = format!("{ARCHIVE_VERSION}-{n}-{:016x}-format{}", fnv(schema.as_bytes()), onrust_archive::FORMAT_VERSION);
    let (root, dir) = match std::env::var_os("ARCHIVE_BENCH_ARCHIVE_DIR") {
        Some(dir) => (PathBuf::from(&dir), PathBuf::from(dir)),
        None => (base.join("archive-1m"), base.join("archive-1m").join(&key)),
    };
    let marker = dir.join("bench-end-millis");
    let same_key = std::fs::read_to_string(dir.join("bench-key")).is_ok_and(|k| k.trim() == key);
    if same_key
        && let Ok(end) = std::fs::read_to_string(&marker)
        && let Ok(end) = end.trim().parse::<i64>()
    {
        println!("\n== search archive: {} messages, cached in {}", thousands(n as f64), dir.display());
        return Ok(BigArchive { dir, n, end: utc_ms(end) });
    }
    // Another version or an interrupted build: start over.
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("bench-key"), &key)?;
    let end = utc_ms(Utc::now().timestamp_millis());
    println!(
        "\n== building the search archive: {} messages into {} ({})",
        thousands(n as f64),
        dir.display(),
        s.describe()
    );
    let started = Instant::now();
    let mut generating = Duration::ZERO;
    let mut writer = ArchiveWriter::open(&dir, &s.options())?;
    let mut at = 0;
    while at < n {
        let t = Instant::now();
        let chunk = messages(v, at..(at + COMMIT_EVERY).min(n), n, end);
        generating += t.elapsed();
        for msg in &chunk {
            writer.upsert(msg)?;
        }
        writer.commit()?;
        at += chunk.len();
    }
    drop(writer);
    let took = started.elapsed();
    std::fs::write(&marker, end.timestamp_millis().to_string())?;
    println!(
        "   built in {:.1} s ({:.1} s of it generating messages): {} msg/s including generation",
        took.as_secs_f64(),
        generating.as_secs_f64(),
        thousands(n as f64 / took.as_secs_f64())
    );
    Ok(BigArchive { dir, n, end })
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn describe_archive(big: &BigArchive, reader: &ArchiveReader) -> Res<()> {
    let docs = reader.doc_count();
    let bytes = dir_bytes(&big.dir);
    let buckets = reader.buckets()?;
    let mut segments = Vec::new();
    for b in &buckets {
        let index = Index::open_in_dir(big.dir.join("buckets").join(&b.name))?;
        segments.push(index.searchable_segment_metas()?.len());
    }
    println!(
        "   {} documents in {} buckets ({} segments in all, {}–{} per bucket); {:.1} MB on disk = {:.0} bytes per message",
        thousands(docs as f64),
        buckets.len(),
        segments.iter().sum::<usize>(),
        segments.iter().min().copied().unwrap_or(0),
        segments.iter().max().copied().unwrap_or(0),
        bytes as f64 / 1e6,
        bytes as f64 / docs.max(1) as f64
    );
    if docs as usize != big.n {
        println!("   WARNING: expected {} documents", big.n);
    }
    Ok(())
}

// ---------------------------------------------------------------- search

fn search_phase(v: &Vocab, big: &BigArchive) -> Res<()> {
    let searches = env_usize("ARCHIVE_BENCH_SEARCHES", 1000);
    let warmup = 100;
    let reader = ArchiveReader::open(&big.dir)?;
    describe_archive(big, &reader)?;
    // Plain content words by rank (`20:00` would read as a field name).
    let words: Vec<&String> = v.nl[v.nl_content..].iter().filter(|w| w.chars().all(char::is_alphanumeric)).collect();
    let queries = |top: usize, seed: u64| -> Vec<(String, MunicipalityCode)> {
        let pool = &words[..top.min(words.len())];
        let mut rng = Rng::new(SEED ^ seed);
        (0..warmup + searches)
            .map(|_| {
                let a = *rng.pick(pool);
                let mut b = *rng.pick(pool);
                while b == a {
                    b = *rng.pick(pool);
                }
                let code = MUNICIPALITIES[v.municipalities.sample(&mut rng)].0;
                (
                    format!("{} {}", a.to_lowercase(), b.to_lowercase()),
                    MunicipalityCode::new(code).unwrap_or_else(|e| panic!("{e}")),
                )
            })
            .collect()
    };
    // Common to mid-frequency words (the 600 most common), and, as a harder
    // case with many more matches, two of the 50 most common.
    let mid = queries(600, 0x5ea4c4);
    let common = queries(50, 0xc0441);
    println!(
        "\n== search: {} two-term queries (AND) each, municipality filter drawn like the data (Utrecht most often), \
         limit 20, with snippets; {warmup} warm-up searches before each row; load {}",
        thousands(searches as f64),
        loadavg()
    );
    println!();
    println!("| search | n | p50 ms | p90 ms | p99 ms | max ms | mean ms | other processes' CPU (cores) |");
    println!("|---|---|---|---|---|---|---|---|");
    let modes = [
        ("two of the 600 most common words, relevance + facets", &mid, true, Sort::Relevance),
        ("two of the 600 most common words, relevance, no facets", &mid, false, Sort::Relevance),
        ("two of the 600 most common words, newest first + facets", &mid, true, Sort::Newest),
        ("two of the 50 most common words, relevance + facets", &common, true, Sort::Relevance),
    ];
    let mut totals = Vec::new();
    for (label, queries, facets, sort) in modes {
        let mut lat = Latencies(Vec::with_capacity(searches));
        let mut hits_total = 0usize;
        let mut empty = 0usize;
        wait_quiet();
        let cpu = Cpu::now();
        for (k, (query, municipality)) in queries.iter().enumerate() {
            let req = SearchRequest {
                query: query.clone(),
                municipality: Some(municipality.clone()),
                facets,
                limit: 20,
                sort,
                ..SearchRequest::default()
            };
            let t = Instant::now();
            let res = reader.search(&req)?;
            let took = t.elapsed();
            std::hint::black_box(&res);
            if k >= warmup {
                lat.0.push(took);
                hits_total += res.total;
                empty += usize::from(res.total == 0);
            }
        }
        lat.row(label, cpu.others_since());
        totals.push((label, hits_total as f64 / searches as f64, empty));
    }
    println!();
    for (label, mean, empty) in totals {
        println!("   {label}: {mean:.0} matching documents per query on average, {empty} queries matched nothing");
    }
    Ok(())
}

// ---------------------------------------------------------------- counts

fn counts_phase(big: &BigArchive) -> Res<()> {
    let runs = 50;
    let reader = ArchiveReader::open(&big.dir)?;
    // The newest message was published an hour before the archive's end.
    let until = big.end - TimeDelta::hours(1) + TimeDelta::seconds(1);
    println!(
        "\n== counts (alert engine): municipality × theme × level with distinct authors, {runs} runs after 5 warm-up; load {}",
        loadavg()
    );
    println!();
    println!("| window | messages | cells | p50 ms | p99 ms | max ms | other processes' CPU (cores) |");
    println!("|---|---|---|---|---|---|---|");
    for (label, window) in [("last 1 h", TimeDelta::hours(1)), ("last 24 h", TimeDelta::hours(24))] {
        let req = CountRequest { since: until - window, until, min_level: None };
        let mut lat = Vec::with_capacity(runs);
        let mut rows = Vec::new();
        wait_quiet();
        let cpu = Cpu::now();
        for k in 0..runs + 5 {
            let t = Instant::now();
            rows = reader.counts(&req)?;
            if k >= 5 {
                lat.push(t.elapsed());
            }
        }
        let others = cpu.others_since();
        lat.sort();
        // A message in two municipalities or themes counts in several cells: report cells, and messages via a search.
        let messages = reader
            .search(&SearchRequest {
                since: Some(req.since),
                until: Some(req.until),
                limit: 1,
                ..SearchRequest::default()
            })?
            .total;
        println!(
            "| {label} | {} | {} | {} | {} | {} | {others:.2} |",
            thousands(messages as f64),
            rows.len(),
            ms(percentile(&lat, 50.0)),
            ms(percentile(&lat, 99.0)),
            ms(lat.last().copied().unwrap_or_default())
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- main

fn main() -> Res<()> {
    let mut phases: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if phases.is_empty() {
        phases = ["index", "search", "counts"].map(str::to_owned).to_vec();
    }
    let settings = Settings {
        threads: env_usize("ARCHIVE_BENCH_THREADS", 2),
        memory: env_usize("ARCHIVE_BENCH_MEMORY_MB", 64) << 20,
    };
    let base = target_dir().join("onrust-bench");
    let t = Instant::now();
    let vocab = Vocab::new();
    println!(
        "archive bench: {} Dutch word forms ({} function words), {} English, {} other; {} municipalities; vocabulary in {:.2} s",
        vocab.nl.len(),
        vocab.nl_content,
        vocab.en.len(),
        vocab.other.len(),
        MUNICIPALITIES.len(),
        t.elapsed().as_secs_f64()
    );
    let scratch_base = base.join("scratch");
    let mut big = None;
    for phase in &phases {
        match phase.as_str() {
            "index" => index_phase(&vocab, settings, &scratch_base)?,
            "diag" => diag_phase(&vocab, settings, &scratch_base)?,
            "sweep" => sweep_phase(&vocab, &scratch_base)?,
            // One run of one side, to profile it (`perf record ... -- ours`).
            "ours" | "bare" => {
                let n = env_usize("ARCHIVE_BENCH_INDEX_N", 200_000);
                let msgs = messages(&vocab, 0..n, n, Utc::now());
                for run in 1..=env_usize("ARCHIVE_BENCH_RUNS", 1) {
                    let result = if phase == "ours" {
                        index_ours(&msgs, settings, &scratch_base)?
                    } else {
                        index_bare(&msgs, settings, &scratch_base, false)?
                    };
                    println!(
                        "{phase} run {run}: {} msg/s, CPU {:.1} µs/message, {:.2} s in commit(), {:.2} s in {} calls over \
                         5 ms, other processes {:.2} cores",
                        thousands(result.rate(n)),
                        result.cpu * 1e6 / n as f64,
                        result.commits.as_secs_f64(),
                        result.slow.as_secs_f64(),
                        result.slow_count,
                        result.others
                    );
                    settle();
                }
            }
            "search" | "counts" | "build" => {
                if big.is_none() {
                    big = Some(big_archive(&vocab, settings, &base)?);
                }
                match (&big, phase.as_str()) {
                    (Some(big), "search") => search_phase(&vocab, big)?,
                    (Some(big), "counts") => counts_phase(big)?,
                    (Some(big), _) => println!("   ready in {}", big.dir.display()),
                    (None, _) => {}
                }
            }
            other => {
                return Err(format!(
                    "unknown phase {other:?}: use index, search, counts, build, sweep, diag, ours or bare"
                )
                .into());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch_base);
    Ok(())
}
