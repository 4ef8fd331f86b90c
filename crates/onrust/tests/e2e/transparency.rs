//! `onrust docs`: the transparency documents (rule L12) name everything the
//! configuration runs, and quote the measured figures only as measured.

use std::process::Output;

use crate::support::{Install, mandate_block, repo_root, shipped_region, shipped_rule};

const DOCUMENTS: [&str; 3] = ["algoritmeregister", "dpia", "fria"];

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The theme ids as `check-config` lists them (not as the documents do).
fn themes(install: &Install) -> Vec<String> {
    let check = install.cli(&["check-config"]);
    assert!(check.status.success(), "{}", stderr(&check));
    let text = stdout(&check);
    let line = text.lines().find_map(|l| l.trim().strip_prefix("themes:")).expect("a themes line");
    line.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

#[test]
fn each_document_names_every_source_theme_rule_and_retention_period() {
    let install = Install::new(&[
        ("nieuws-utrecht", "http://127.0.0.1:9/utrecht.xml".to_owned()),
        ("gemeenteblad-zeist", "http://127.0.0.1:9/zeist.xml".to_owned()),
    ]);
    let config = std::fs::read_to_string(&install.config)
        .expect("config")
        .replace("[archive]\n", "[archive]\nretention = \"45days\"\nbucket = \"day\"\n")
        + "[retention]\nalert_state = \"200days\"\nnotification_log = \"300days\"\noutbox = \"20days\"\naudit_log = \"400days\"\ndead_letters = \"10days\"\n";
    std::fs::write(
        &install.config,
        format!(
            "{config}[[sources]]\nmandate = \"test\"\nid = \"forum-amersfoort\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/forum.xml\"\n\
             enabled = false\n{region}{critical}{announcement}{mandate}",
            mandate = mandate_block(
                "jaarwisseling-utrecht",
                "2026-12-01",
                "2099-01-31",
                "municipalities = [\"GM0344\"]\nthemes = [\"jaarwisseling\"]\nsource_kinds = [\"feed\", \"mastodon\"]\n"
            ),
            region = shipped_region(),
            critical = shipped_rule("oproep-tot-geweld"),
            announcement = shipped_rule("aangekondigde-actie"),
        ),
    )
    .expect("config");
    let themes = themes(&install);
    assert!(themes.len() >= 5, "{themes:?}");

    for document in DOCUMENTS {
        let out = install.cli(&["docs", document]);
        assert!(out.status.success(), "{document}: {}", stderr(&out));
        let text = stdout(&out);
        for name in
            ["nieuws-utrecht", "gemeenteblad-zeist", "forum-amersfoort", "oproep-tot-geweld", "aangekondigde-actie"]
        {
            assert!(text.contains(name), "{document} names {name}:\n{text}");
        }
        for theme in &themes {
            assert!(text.contains(theme.as_str()), "{document} names the theme {theme}:\n{text}");
        }
        assert!(text.contains("45 dagen") && text.contains("per dag"), "{document}: the retention:\n{text}");
        for period in [
            "Status van meldingen (wie een melding doorstuurde of afwees, wanneer en waarom): 200 dagen",
            "Notificatielog (wie wanneer welke melding kreeg, op welk adres, en of dat lukte): 300 dagen",
            "Uitgaande berichten (meldingen die nog weg moeten of definitief mislukten, met hun fragmenten): 20 dagen",
            "Auditlog (wie wanneer welke inhoud gebruikte: zoekvragen, handelingen en inzage): 400 dagen",
            "Niet verwerkte berichten (hele berichten die onrust niet kon verwerken, om uit te zoeken waarom): 10 dagen",
        ] {
            assert!(text.contains(period), "{document}: the retention of each data class: {period}\n{text}");
        }
        // Every mandate (rule L5): purpose, legal basis, who decided, DPIA, dates and scope.
        for said in [
            "Mandaat `test`",
            "Mandaat `jaarwisseling-utrecht`",
            "Openbare orde: test",
            "Gemeentewet art. 172",
            "de burgemeester van Utrecht",
            "DPIA-TEST-1",
            "01-01-2020 tot en met 31-12-2099",
            "01-12-2026 tot en met 31-01-2099",
            "| Gemeenten | GM0344 |",
            "| Thema's | jaarwisseling |",
            "| Soorten bronnen | feed, mastodon |",
            "| Bronnen | nieuws-utrecht, gemeenteblad-zeist, forum-amersfoort |",
            "| Regels | oproep-tot-geweld, aangekondigde-actie |",
        ] {
            assert!(text.contains(said), "{document} says {said:?}:\n{text}");
        }
        assert!(text.contains("Utrecht (GM0344)") || document == "fria", "{document}: the region:\n{text}");
        assert!(text.contains("**In te vullen**"), "{document}: what the configuration cannot know is marked");
        // Nothing measured beside this configuration: the document says so and invents nothing.
        assert!(text.contains("geen cijfers bij deze configuratie"), "{document}:\n{text}");
        assert!(!text.contains("0,794"), "{document}: no figures without a figures file");
    }
    let register = stdout(&install.cli(&["docs", "algoritmeregister"]));
    for field in ["## Algemene informatie", "## Verantwoord gebruik", "## Werking", "### Menselijke tussenkomst"] {
        assert!(register.contains(field), "the register's fields: {field}\n{register}");
    }
    // A disabled source is named as such.
    let row = register.lines().find(|l| l.starts_with("| forum-amersfoort |")).expect("the source's row");
    assert!(row.ends_with("| nee |"), "{row}");
}

#[test]
fn the_figures_beside_the_configuration_are_quoted_and_a_bad_one_is_refused() {
    let install = Install::new(&[("nieuws", "http://127.0.0.1:9/nieuws.xml".to_owned())]);
    let figures = install.dir.path().join("classifier-figures.toml");
    let good = "measured = \"2026-12-07\"\nbuild = \"test\"\n[[splits]]\nfile = \"blind.jsonl\"\nkind = \"blind\"\n\
                messages = 340\nlevel3_precision = 0.910\nlevel3_recall = 0.794\nlevel2_f1 = 0.866\nmunicipality_f1 = 0.958\n\
                [hatecheck]\nthreats_at_level_3 = 0.3\nidentity_at_level_2 = 0.0\ncounter_speech_at_level_3 = 0.062\n";
    std::fs::write(&figures, good).expect("figures");
    for document in DOCUMENTS {
        let out = install.cli(&["docs", document]);
        assert!(out.status.success(), "{document}: {}", stderr(&out));
        let text = stdout(&out);
        let row = text.lines().find(|l| l.starts_with("| blind.jsonl |")).unwrap_or_else(|| panic!("{text}"));
        for figure in ["340", "0,910", "0,794", "0,866", "0,958"] {
            assert!(row.contains(figure), "{document}: {figure} in {row}");
        }
        assert!(text.contains("30,0% van de bedreigingen") && text.contains("6,2% van de tegenspraak"), "{text}");
    }
    std::fs::write(&figures, good.replace("0.794", "7.94")).expect("figures");
    let out = install.cli(&["docs", "dpia"]);
    assert!(!out.status.success(), "a recall of 7.94 is refused");
    let error = stderr(&out);
    assert!(error.contains("classifier-figures.toml") && error.contains("7.94"), "{error}");
    std::fs::write(&figures, good.replace("kind = \"blind\"", "kind = \"secret\"")).expect("figures");
    let error = stderr(&install.cli(&["docs", "dpia"]));
    assert!(error.contains("classifier-figures.toml") && error.contains("secret"), "{error}");
    let out = install.cli(&["docs", "handleiding"]);
    assert!(!out.status.success() && stderr(&out).contains("handleiding"), "an unknown document is named");
}

/// The shipped figures are those `docs/PERFORMANCE.md` reports: a figure
/// changed in one place and not in the other fails here.
#[test]
fn the_shipped_figures_are_the_ones_the_performance_document_reports() {
    let root = repo_root();
    let figures = std::fs::read_to_string(root.join("config/classifier-figures.toml")).expect("figures");
    let performance = std::fs::read_to_string(root.join("docs/PERFORMANCE.md")).expect("PERFORMANCE.md");
    let mut checked = 0;
    for line in figures.lines() {
        let Some((key, value)) = line.split_once(" = ") else { continue };
        let key = key.trim();
        if key == "file" {
            let file = value.trim_matches('"');
            assert!(performance.contains(file), "{file} is reported in docs/PERFORMANCE.md");
        }
        if ["level3_precision", "level3_recall", "level2_f1", "municipality_f1"].contains(&key) {
            assert!(performance.contains(value), "{key} = {value} is reported in docs/PERFORMANCE.md");
            checked += 1;
        }
    }
    assert!(checked >= 12, "three splits, four figures each: {checked}");
    // And the shipped configuration quotes them.
    let out = std::process::Command::new(crate::support::onrust_bin())
        .args(["docs", "algoritmeregister", "--config"])
        .arg(root.join("config/onrust.toml"))
        .current_dir(&root)
        .output()
        .expect("onrust docs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("| social-blind.jsonl | 340 |"), "{}", stdout(&out));
}
