#!/usr/bin/env python3
"""Regenerates the classifier's Dutch morphology tables from the OpenTaal
hunspell dictionary (Debian/Ubuntu package `hunspell-nl`).

    python3 scripts/morphology.py /usr/share/hunspell/nl

reads `<prefix>.dic` and `<prefix>.aff` (the only input outside the
repository, named on the command line), expands the dictionary by its affix
rules, and writes, for the words the signal lexicons need:

- config/signals/morphology/nl-forms.tsv: one inflected form per line with its
  lemma and what it is (`inf`, `stem`, `t`, `past`, `part`, `noun`), plus one
  `sep` line per separable verb (`neersteken  neer+steken  sep`);
- config/signals/morphology/nl-compound-parts.txt: the words hunspell allows
  at the start or the end of a compound, for the compound splitter.

Which lemmas: every word of every term in config/signals/*.toml that the
dictionary knows as a verb or a noun, the verbs the threat grammar knows by
name (config/signals/morphology/grammar-verbs.txt), and the verbs those are
built on. Verb
forms come from Dutch conjugation rules, each form kept only when the
expanded dictionary contains it; strong and irregular verbs take their
principal parts from the table below (general grammar, checked against the
dictionary the same way). Deterministic: the same dictionary gives the same
files, byte for byte. No network.

Licence of the output: derived from the OpenTaal word list, (c) OpenTaal,
used under the Revised BSD licence; see config/signals/morphology/README.md.
"""

import re
import sys
import tomllib
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = ROOT / "config" / "signals"
OUT = SIGNALS / "morphology"

# Separable particles, longest first so "achterna" wins over "achter".
PARTICLES = sorted(
    """neer op af aan in uit om weg dood kapot plat lek mee terug door over langs omver los vast stuk
    tegen bij na toe voor achter samen binnen buiten rond mis klaar kort fijn dicht open leeg""".split(),
    key=len,
    reverse=True,
)
INSEPARABLE = ["be", "ver", "ont", "her", "er"]

# Strong and irregular verbs: infinitive → (past singular, past plural, participle).
STRONG = {
    "steken": ("stak", "staken", "gestoken"),
    "schieten": ("schoot", "schoten", "geschoten"),
    "slaan": ("sloeg", "sloegen", "geslagen"),
    "gaan": ("ging", "gingen", "gegaan"),
    "komen": ("kwam", "kwamen", "gekomen"),
    "nemen": ("nam", "namen", "genomen"),
    "blazen": ("blies", "bliezen", "geblazen"),
    "breken": ("brak", "braken", "gebroken"),
    "bijten": ("beet", "beten", "gebeten"),
    "snijden": ("sneed", "sneden", "gesneden"),
    "vechten": ("vocht", "vochten", "gevochten"),
    "trekken": ("trok", "trokken", "getrokken"),
    "rijden": ("reed", "reden", "gereden"),
    "werpen": ("wierp", "wierpen", "geworpen"),
    "binden": ("bond", "bonden", "gebonden"),
    "hangen": ("hing", "hingen", "gehangen"),
    "doen": ("deed", "deden", "gedaan"),
    "zien": ("zag", "zagen", "gezien"),
    "krijgen": ("kreeg", "kregen", "gekregen"),
    "vallen": ("viel", "vielen", "gevallen"),
    "houden": ("hield", "hielden", "gehouden"),
    "laten": ("liet", "lieten", "gelaten"),
    "lopen": ("liep", "liepen", "gelopen"),
    "roepen": ("riep", "riepen", "geroepen"),
    "staan": ("stond", "stonden", "gestaan"),
    "sluiten": ("sloot", "sloten", "gesloten"),
    "sterven": ("stierf", "stierven", "gestorven"),
    "grijpen": ("greep", "grepen", "gegrepen"),
    "smijten": ("smeet", "smeten", "gesmeten"),
    "gieten": ("goot", "goten", "gegoten"),
    "liggen": ("lag", "lagen", "gelegen"),
    "zitten": ("zat", "zaten", "gezeten"),
    "vliegen": ("vloog", "vlogen", "gevlogen"),
    "vinden": ("vond", "vonden", "gevonden"),
    "weten": ("wist", "wisten", "geweten"),
    "helpen": ("hielp", "hielpen", "geholpen"),
    "schrijven": ("schreef", "schreven", "geschreven"),
    "dragen": ("droeg", "droegen", "gedragen"),
    "bieden": ("bood", "boden", "geboden"),
    "kiezen": ("koos", "kozen", "gekozen"),
    "springen": ("sprong", "sprongen", "gesprongen"),
    "spuiten": ("spoot", "spoten", "gespoten"),
    "winnen": ("won", "wonnen", "gewonnen"),
    "beginnen": ("begon", "begonnen", "begonnen"),
    "blijven": ("bleef", "bleven", "gebleven"),
    "jagen": ("joeg", "joegen", "gejaagd"),
    "vragen": ("vroeg", "vroegen", "gevraagd"),
    "zeggen": ("zei", "zeiden", "gezegd"),
    "kopen": ("kocht", "kochten", "gekocht"),
    "brengen": ("bracht", "brachten", "gebracht"),
    "denken": ("dacht", "dachten", "gedacht"),
    "zoeken": ("zocht", "zochten", "gezocht"),
    "treffen": ("trof", "troffen", "getroffen"),
    "dwingen": ("dwong", "dwongen", "gedwongen"),
    "schuiven": ("schoof", "schoven", "geschoven"),
    "knijpen": ("kneep", "knepen", "geknepen"),
    "slijpen": ("sleep", "slepen", "geslepen"),
    "wijzen": ("wees", "wezen", "gewezen"),
    "drijven": ("dreef", "dreven", "gedreven"),
    "schenden": ("schond", "schonden", "geschonden"),
    "verliezen": ("verloor", "verloren", "verloren"),
    "verbieden": ("verbood", "verboden", "verboden"),
    "trappen": ("trapte", "trapten", "getrapt"),
    "zenden": ("zond", "zonden", "gezonden"),
    "stoten": ("stootte", "stootten", "gestoten"),
    "wreken": ("wreekte", "wreekten", "gewroken"),
    "scheren": ("schoor", "schoren", "geschoren"),
    "zuigen": ("zoog", "zogen", "gezogen"),
    "rijten": ("reet", "reten", "gereten"),
    "sluipen": ("sloop", "slopen", "geslopen"),
    "kruipen": ("kroop", "kropen", "gekropen"),
    "schuilen": ("school", "scholen", "gescholen"),
    "strijden": ("streed", "streden", "gestreden"),
    "lijden": ("leed", "leden", "geleden"),
    "zwijgen": ("zweeg", "zwegen", "gezwegen"),
    "wegen": ("woog", "wogen", "gewogen"),
    "bewegen": ("bewoog", "bewogen", "bewogen"),
    "verdwijnen": ("verdween", "verdwenen", "verdwenen"),
    "verschijnen": ("verscheen", "verschenen", "verschenen"),
    "hijsen": ("hees", "hesen", "gehesen"),
    "worden": ("werd", "werden", "geworden"),
    "zijn": ("was", "waren", "geweest"),
    "hebben": ("had", "hadden", "gehad"),
    "kunnen": ("kon", "konden", "gekund"),
    "mogen": ("mocht", "mochten", "gemogen"),
    "moeten": ("moest", "moesten", "gemoeten"),
    "willen": ("wilde", "wilden", "gewild"),
    "zullen": ("zou", "zouden", ""),
}
# Present forms of irregular verbs that the rules below would get wrong.
IRREGULAR_PRESENT = {
    "gaan": ("ga", "gaat"),
    "slaan": ("sla", "slaat"),
    "staan": ("sta", "staat"),
    "doen": ("doe", "doet"),
    "zien": ("zie", "ziet"),
    "zijn": ("ben", "is"),
    "hebben": ("heb", "heeft"),
    "kunnen": ("kan", "kan"),
    "mogen": ("mag", "mag"),
    "willen": ("wil", "wil"),
    "zullen": ("zal", "zal"),
    "komen": ("kom", "komt"),
}
VOWELS = set("aeiou")


def parse_affixes(path):
    rules = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in ("SFX", "PFX") and parts[2] in ("Y", "N"):
            rules[parts[1]] = (parts[0], [])
        elif len(parts) >= 5 and parts[0] in ("SFX", "PFX") and parts[1] in rules:
            strip = "" if parts[2] == "0" else parts[2]
            add = parts[3].split("/")[0]
            add = "" if add == "0" else add
            cond = parts[4]
            pattern = None if cond == "." else re.compile(("^" + cond) if parts[0] == "PFX" else (cond + "$"))
            continuation = parts[3].split("/")[1] if "/" in parts[3] else ""
            rules[parts[1]][1].append((strip, add, pattern, flags_of(continuation), " ".join(parts[5:])))
    return rules


def flags_of(text):
    """FLAG long: two characters per flag."""
    return [text[i : i + 2] for i in range(0, len(text) - 1, 2)]


def expand(dic_path, rules):
    """Every form of the dictionary (one level of affixes) → the set of its flags
    (the entry's flags for the entry itself, the continuation flags for a derived
    form), and the morphological tag of the affix (`ts:NN2` …) where there is one."""
    forms = {}
    lines = dic_path.read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        entry = line.split("\t")[0].split(" ")[0]
        word, _, flag_text = entry.partition("/")
        if not word:
            continue
        flags = flags_of(flag_text)
        forms.setdefault(word, [set(), set()])[0].update(flags)
        for flag in flags:
            kind, affixes = rules.get(flag, (None, []))
            for strip, add, pattern, continuation, morph in affixes:
                if kind == "SFX":
                    if (strip and not word.endswith(strip)) or (pattern and not pattern.search(word)):
                        continue
                    form = word[: len(word) - len(strip)] + add
                else:
                    if (strip and not word.startswith(strip)) or (pattern and not pattern.search(word)):
                        continue
                    form = add + word[len(strip) :]
                slot = forms.setdefault(form, [set(), set()])
                slot[0].update(continuation)
                slot[0].add("<derived>")
                if morph:
                    slot[1].add(morph)
    return forms


def fold(word):
    """The word with its diaereses dropped, as the classifier's tokenizer reads
    it (`geëxecuteerd` → `geexecuteerd`, see crates/onrust-classify/src/normalize.rs).
    Only the diaeresis: it is spelling, while an acute accent in the dictionary
    marks stress on a form that is listed without it as well."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", word).replace("\u0308", ""))


def with_folded(forms):
    """`forms` plus every form with a diacritic under its folded spelling too
    (same flags), so that a participle such as `geëxecuteerd` is found as the
    `geexecuteerd` the conjugation rules build and the tokenizer reads."""
    out = {form: [set(flags), set(morph)] for form, (flags, morph) in forms.items()}
    for form, (flags, morph) in sorted(forms.items()):
        folded = fold(form)
        if folded != form:
            slot = out.setdefault(folded, [set(), set()])
            slot[0].update(flags)
            slot[1].update(morph)
    return out


def lexicon_words():
    """Single words of every signal term (phrases give each of their words),
    and the verbs the threat grammar knows by lemma (`morphology/grammar-verbs.txt`)."""
    out = set()
    for line in (OUT / "grammar-verbs.txt").read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            out.add(word)
    for path in sorted(SIGNALS.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for term in data.get("terms", []) + data.get("hashtags", []):
            for word in re.split(r"[^a-zà-ÿ]+", term["match"].lower()):
                if len(word) >= 3:
                    out.add(word)
    return out


def devoice(stem):
    if stem.endswith("v"):
        return stem[:-1] + "f"
    if stem.endswith("z"):
        return stem[:-1] + "s"
    return stem


def stem_candidates(inf):
    """Possible stems of an infinitive, most likely first."""
    # gaan → ga, doen → doe, zien → zie; but roeien → roei, vrijen → vrij.
    vowel_stem = inf.endswith("ien") and (inf.endswith("ijen") or (len(inf) > 3 and inf[-4] in VOWELS))
    if inf.endswith(("aan", "oen", "ien", "ijn")) and not vowel_stem:
        return [inf[:-1]]
    if not inf.endswith("en"):
        return []
    base = inf[:-2]
    out = []
    if len(base) >= 2 and base[-1] == base[-2] and base[-1] not in VOWELS:
        out.append(base[:-1])  # knallen → knal
    if (
        len(base) >= 3
        and base[-1] not in VOWELS
        and base[-2] in "aeou"
        and base[-3] not in VOWELS
    ):
        out.append(devoice(base[:-1] + base[-2] + base[-1]))  # steken → steek, blazen → blaas
    out.append(devoice(base))  # bekogelen → bekogel, vermoorden → vermoord
    return out


def is_verb_stem(forms, stem):
    flags = forms.get(stem, [set(), set()])[0]
    return bool(flags & {"V3", "Vp", "Vq"})


def weak_paradigm(forms, inf):
    """Forms of a weak verb, or None when the dictionary knows no stem for it."""
    stem = next((s for s in stem_candidates(inf) if is_verb_stem(forms, s)), None)
    if stem is None:
        return None
    flags = forms[stem][0]
    past_ending = "te" if "Vq" in flags else "de"
    t_form = stem if stem.endswith("t") else stem + "t"
    prefix = "" if stem.startswith(tuple(INSEPARABLE)) else "ge"
    participle = prefix + stem + ("t" if past_ending == "te" else ("" if stem.endswith("d") else "d"))
    if stem.endswith("t") and past_ending == "te":
        participle = prefix + stem
    return {
        "inf": [inf],
        "stem": [stem],
        "t": [t_form],
        "past": [stem + past_ending, stem + past_ending + "n"],
        "part": [participle, participle + "e"],
    }


def strong_paradigm(forms, inf):
    if inf in STRONG:
        past_sg, past_pl, participle = STRONG[inf]
        stem, t_form = IRREGULAR_PRESENT.get(inf, (None, None))
        if stem is None:
            stem = next((s for s in stem_candidates(inf) if s in forms), None) or stem_candidates(inf)[0]
            t_form = stem if stem.endswith("t") else stem + "t"
        parts = [participle] if participle else []
        return {"inf": [inf], "stem": [stem], "t": [t_form], "past": [past_sg, past_pl], "part": parts}
    for prefix in INSEPARABLE:
        base = inf[len(prefix) :]
        if inf.startswith(prefix) and base in STRONG:
            paradigm = strong_paradigm(forms, base)
            out = {tag: [prefix + f for f in fs] for tag, fs in paradigm.items()}
            out["part"] = [prefix + p[2:] if p.startswith("ge") else prefix + p for p in paradigm["part"]]
            return out
    return None


def paradigm(forms, inf):
    """(forms by tag, separable particle or None, base verb or None)."""
    for particle in PARTICLES:
        base = inf[len(particle) :]
        if not inf.startswith(particle) or len(base) < 4:
            continue
        if base.startswith("ge"):
            continue  # "opgeblazen" is a participle, not a verb "op" + "geblazen"
        inner = strong_paradigm(forms, base) or weak_paradigm(forms, base)
        if inner is None:
            continue
        participles = [particle + p for p in inner["part"]]
        if not any(p in forms for p in participles):
            continue  # "overvallen" is not "over" + "vallen"
        out = {tag: [particle + f for f in fs] for tag, fs in inner.items()}
        out["part"] = participles
        return out, particle, base
    own = strong_paradigm(forms, inf) or weak_paradigm(forms, inf)
    return own, None, None


def verb_lemma_of(forms, word):
    """The infinitive a lexicon word is a form of, when it is a verb form."""
    if word in STRONG:
        return word
    if word.endswith("en") and (strong_paradigm(forms, word) or weak_paradigm(forms, word)):
        return word
    if word.endswith(("en", "aan")):  # separable verbs on gaan, slaan, staan too: doodgaan
        for particle in PARTICLES:
            if word.startswith(particle) and paradigm(forms, word)[1]:
                return word
    if is_verb_stem(forms, word):
        candidates = []
        base = word
        if len(base) >= 3 and base[-2] == base[-3] and base[-2] in "aeou":
            candidates.append(base[:-2] + base[-1])  # sloop → slop(en)
        if len(base) >= 2 and base[-1] not in VOWELS and base[-2] in VOWELS and (len(base) < 3 or base[-3] not in VOWELS):
            candidates.append(base + base[-1])  # knal → knall(en)
        candidates.append(base)
        for c in candidates:
            # The form as written, or its voiced variant (blaf → blaven,
            # huis → huizen). Ties are broken in a fixed order, so every run
            # writes the same lemma: an infinitive the dictionary itself lists
            # wins ("huizen", not "huisen"), then the form as written
            # ("persen" before "perzen").
            voiced_variants = [c]
            if c.endswith("f"):
                voiced_variants.append(c[:-1] + "v")
            if c.endswith("s"):
                voiced_variants.append(c[:-1] + "z")
            voiced_variants.sort(key=lambda v: (v + "en") not in forms)
            for voiced in voiced_variants:
                inf = voiced + "en"
                p = weak_paradigm(forms, inf)
                if p and word in p["stem"]:
                    return inf
    for inf, (past_sg, past_pl, participle) in STRONG.items():
        if word in (past_sg, past_pl, participle) or word in IRREGULAR_PRESENT.get(inf, ()):
            return inf
    return None


def noun_forms(forms, word):
    """Plural and diminutive forms the dictionary derives from a noun entry."""
    out = []
    prefix_len = len(word)
    for form, (_, morph) in forms.items():
        if form.startswith(word[: max(prefix_len - 2, 3)]) and morph & {"ts:NN2", "ts:NN1r", "ts:NN2r"}:
            out.append(form)
    return out


def main():
    args = sys.argv[1:]
    out_dir = OUT
    if len(args) == 3 and args[1] == "--out":
        out_dir = Path(args[2])
    elif len(args) != 1:
        sys.exit(f"usage: {sys.argv[0]} <hunspell prefix> [--out DIR], e.g. /usr/share/hunspell/nl")
    prefix = Path(args[0])
    aff, dic = prefix.with_suffix(".aff"), prefix.with_suffix(".dic")
    for path in (aff, dic):
        if not path.is_file():
            sys.exit(f"{path}: not found (install the hunspell-nl package)")
    rules = parse_affixes(aff)
    dictionary = expand(dic, rules)
    forms = with_folded(dictionary)

    rows = set()
    separable = set()
    verbs = set()
    for word in sorted(lexicon_words()):
        lemma = verb_lemma_of(forms, word)
        if lemma:
            verbs.add(lemma)
    # The verbs separable verbs are built on are lemmas too ("steken" for "neersteken").
    for inf in sorted(verbs):
        table, particle, base = paradigm(forms, inf)
        if table is None:
            continue
        if particle:
            separable.add((inf, particle, base))
            verbs_base, _, _ = paradigm(forms, base)
            for tag, fs in (verbs_base or {}).items():
                for f in fs:
                    if f in forms or tag in ("stem", "t"):
                        rows.add((f, base, tag))
        for tag, fs in table.items():
            # A separable verb's stem does not stand as one word ("aanval" is
            # the noun); its other contiguous forms ("neersteekt", in a
            # subordinate clause) are kept when their base form is valid.
            if particle and tag == "stem":
                continue
            for f in fs:
                if f in forms or particle:
                    rows.add((f, inf, tag))
    # Chat drops the final d of a stem after "ij" and "ou" ("ik rij hem dood",
    # "ik snij ze open", "hou je bek"); the dictionary knows only "rijd".
    rows |= {(f[:-1], lemma, tag) for f, lemma, tag in rows if tag == "stem" and f.endswith(("ijd", "oud"))}
    # A stem the dictionary also lists as a name starts no separable verb:
    # "uit het Gooi … om 10 uur" is no "gooi … om".
    bases = {base for _, _, base in separable}
    rows = {(f, lemma, tag) for f, lemma, tag in rows if not (tag == "stem" and lemma in bases and f.capitalize() in forms)}
    # Nouns: the dictionary's own plural and diminutive suffixes.
    for word in sorted(lexicon_words()):
        if word in forms and not word.endswith("en") and any(f.startswith(("Z", "Y")) for f in forms[word][0]):
            entry_flags = forms[word][0]
            for flag in sorted(entry_flags):
                kind, affixes = rules.get(flag, (None, []))
                if kind != "SFX":
                    continue
                for strip, add, pattern, _, morph in affixes:
                    if not morph.startswith("ts:NN"):
                        continue
                    if (strip and not word.endswith(strip)) or (pattern and not pattern.search(word)):
                        continue
                    form = word[: len(word) - len(strip)] + add
                    if form.endswith("-"):
                        continue
                    rows.add((word, word, "noun"))
                    rows.add((form, word, "noun"))

    out_dir.mkdir(parents=True, exist_ok=True)
    header = [
        "# Dutch inflections for the signal lexicons: form, lemma, what the form is",
        "# (inf, stem, t, past, part, noun); `sep` lines give a separable verb's",
        "# particle and base. Generated by `python3 scripts/morphology.py <hunspell prefix>`",
        "# from the OpenTaal hunspell dictionary (c) OpenTaal, Revised BSD licence:",
        "# see README.md in this folder. Do not edit by hand; rerun the script.",
    ]
    lines = [f"{f}\t{lemma}\t{tag}" for f, lemma, tag in sorted(rows)]
    lines += [f"{inf}\t{particle}+{base}\tsep" for inf, particle, base in sorted(separable)]
    (out_dir / "nl-forms.tsv").write_text("\n".join(header + lines) + "\n", encoding="utf-8")

    parts = set()
    for form, (flags, _) in dictionary.items():
        if re.fullmatch(r"[a-z]{3,15}", form) and flags & {"Ca", "Cc"}:
            parts.add(form)
    part_header = [
        "# Words the OpenTaal hunspell dictionary allows at the start (Ca) or the end (Cc)",
        "# of a compound, for the compound splitter. Generated by",
        "# `python3 scripts/morphology.py <hunspell prefix>`; (c) OpenTaal, Revised BSD",
        "# licence: see README.md in this folder. Do not edit by hand.",
    ]
    (out_dir / "nl-compound-parts.txt").write_text("\n".join(part_header + sorted(parts)) + "\n", encoding="utf-8")
    print(f"{len(rows)} forms, {len(separable)} separable verbs, {len(parts)} compound parts written to {out_dir}")


if __name__ == "__main__":
    main()
