//! From a validated query string to a tantivy query, per analysis group.
//!
//! Each document's words are indexed with the analysis of its language
//! (Dutch, English or plain; see [`Analysis`]). A query is therefore
//! compiled once per group, with that group's analyzer, and each compiled
//! query only matches documents of its group:
//!
//! ```text
//! (analysis:nl AND q_nl) OR (analysis:en AND q_en) OR (analysis:plain AND q_plain)
//! ```
//!
//! Compiling per group rather than per word keeps stop words harmless:
//! `oud en nieuw` in Dutch drops `en` and asks for `oud` and `nieuw`,
//! instead of demanding an `en` that the Dutch fields never hold.
//! `title:` and `text:` name the group's own field; other fields are the
//! same in every group.

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, Query,
    QueryParser, TermQuery,
};
use tantivy::query_grammar::{self, Delimiter, UserInputAst, UserInputBound, UserInputLeaf, UserInputLiteral};
use tantivy::schema::{Field, IndexRecordOption, Schema};
use tantivy::tokenizer::{TokenStream, TokenizerManager};

use crate::query::Refusal;
use crate::schema::{self, Analysis, Fields};

/// Compiles queries for every group; built once per reader.
pub(crate) struct Compiler {
    schema: Schema,
    fields: Fields,
    parser: QueryParser,
    tokenizers: TokenizerManager,
}

impl Compiler {
    pub fn new(schema: Schema, fields: Fields) -> Compiler {
        let tokenizers = TokenizerManager::default();
        for analysis in Analysis::ALL {
            tokenizers.register(&format!("onrust_{}", analysis.code()), schema::query_analyzer(analysis));
        }
        let parser = QueryParser::new(schema.clone(), vec![], tokenizers.clone());
        Compiler { schema, fields, parser, tokenizers }
    }

    /// The query for `text`, which [`crate::query::validate`] has passed.
    pub fn compile(&self, text: &str) -> Result<Box<dyn Query>, Refusal> {
        let ast = query_grammar::parse_query(text)
            .map_err(|_| Refusal::new("syntax", "cannot read the query; check quotes, brackets and field names"))?;
        let mut groups: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for analysis in Analysis::ALL {
            let Some(query) = self.node(&ast, analysis)? else { continue };
            let only_group: Box<dyn Query> = Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.analysis, analysis.code()),
                    IndexRecordOption::Basic,
                )),
                0.0,
            ));
            groups.push((
                Occur::Should,
                Box::new(BooleanQuery::new(vec![(Occur::Must, only_group), (Occur::Must, query)])),
            ));
        }
        if groups.is_empty() {
            return Ok(Box::new(EmptyQuery));
        }
        Ok(Box::new(BooleanQuery::new(groups)))
    }

    /// `None` when the node says nothing in this group (only stop words):
    /// it is then left out of its clause.
    fn node(&self, ast: &UserInputAst, g: Analysis) -> Result<Option<Box<dyn Query>>, Refusal> {
        match ast {
            UserInputAst::Leaf(leaf) => self.leaf(leaf, g),
            UserInputAst::Boost(inner, boost) => Ok(self
                .node(inner, g)?
                .map(|q| Box::new(BoostQuery::new(q, boost.into_inner() as f32)) as Box<dyn Query>)),
            UserInputAst::Clause(children) => {
                let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for (occur, child) in children {
                    if let Some(query) = self.node(child, g)? {
                        clauses.push((to_occur(*occur), query));
                    }
                }
                if clauses.is_empty() {
                    return Ok(None);
                }
                if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Ok(Some(Box::new(BooleanQuery::new(clauses))))
            }
        }
    }

    fn leaf(&self, leaf: &UserInputLeaf, g: Analysis) -> Result<Option<Box<dyn Query>>, Refusal> {
        let group = self.fields.group(g);
        let word_fields = |name: Option<&str>| -> Option<Vec<Field>> {
            match name {
                None => Some(vec![group.title, group.text]),
                Some(schema::TITLE) => Some(vec![group.title]),
                Some(schema::TEXT) => Some(vec![group.text]),
                Some(_) => None,
            }
        };
        if let Some(dated) = dates::normalise(leaf)? {
            return self.parsed(dated).map(Some);
        }
        match leaf {
            UserInputLeaf::All => Ok(Some(Box::new(AllQuery))),
            UserInputLeaf::Literal(literal) => match word_fields(literal.field_name.as_deref()) {
                Some(fields) => self.words(literal, &fields, g),
                None => self.parsed(leaf.clone()).map(Some),
            },
            UserInputLeaf::Range { field, .. } | UserInputLeaf::Set { field, .. } => {
                match word_fields(field.as_deref()) {
                    Some(fields) => {
                        let mut each = Vec::with_capacity(fields.len());
                        for f in fields {
                            each.push((Occur::Should, self.parsed(with_field(leaf, self.schema.get_field_name(f)))?));
                        }
                        Ok(Some(Box::new(BooleanQuery::new(each))))
                    }
                    None => self.parsed(leaf.clone()).map(Some),
                }
            }
            // A regular expression runs over every term of the index; an analyst's search has no need of one.
            UserInputLeaf::Regex { .. } => {
                Err(Refusal::new("syntax", "regular expressions (/.../) are not supported; search for words"))
            }
            UserInputLeaf::Exists { field } => match word_fields(Some(field)) {
                Some(_) => Err(Refusal::new("syntax", "title:* and text:* are not supported; search for words")),
                None => self.parsed(leaf.clone()).map(Some),
            },
        }
    }

    /// A word or phrase in the title and/or text fields of group `g`.
    fn words(
        &self,
        literal: &UserInputLiteral,
        fields: &[Field],
        g: Analysis,
    ) -> Result<Option<Box<dyn Query>>, Refusal> {
        // The grammar keeps `word~1` and `word*` as one word; the operator is read here.
        let (phrase, operator) = match literal.delimiter {
            Delimiter::None => split_operator(&literal.phrase),
            _ => (literal.phrase.as_str(), None),
        };
        let tokens = self.analyse(phrase, g);
        if tokens.is_empty() {
            return Ok(None);
        }
        let single = tokens.len() == 1;
        let mut each: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(fields.len());
        for &field in fields {
            let term = || Term::from_field_text(field, &tokens[0]);
            let query: Box<dyn Query> = match operator {
                Some(Operator::Fuzzy(distance)) if single => Box::new(FuzzyTermQuery::new(term(), distance, true)),
                // At most 50 terms (tantivy's default expansion limit).
                Some(Operator::Prefix) if single => Box::new(PhrasePrefixQuery::new(vec![term()])),
                _ => {
                    let mut named = literal.clone();
                    named.phrase = phrase.to_owned();
                    named.field_name = Some(self.schema.get_field_name(field).to_owned());
                    self.parsed(UserInputLeaf::Literal(named))?
                }
            };
            each.push((Occur::Should, query));
        }
        Ok(Some(if each.len() == 1 { each.remove(0).1 } else { Box::new(BooleanQuery::new(each)) }))
    }

    fn parsed(&self, leaf: UserInputLeaf) -> Result<Box<dyn Query>, Refusal> {
        self.parser.build_query_from_user_input_ast(UserInputAst::Leaf(Box::new(leaf))).map_err(|e| {
            let message = e.to_string();
            let mut chars = message.chars();
            let message: String = chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default();
            Refusal::new("syntax", format!("cannot read the query: {message}"))
        })
    }

    fn analyse(&self, text: &str, g: Analysis) -> Vec<String> {
        let Some(mut analyzer) = self.tokenizers.get(&format!("onrust_{}", g.code())) else { return Vec::new() };
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Fuzzy(u8),
    Prefix,
}

/// `politei~1` → (`politei`, fuzzy 1); `relschop*` → (`relschop`, prefix).
/// [`crate::query::validate`] has already capped the distance.
fn split_operator(word: &str) -> (&str, Option<Operator>) {
    if let Some(base) = word.strip_suffix('*')
        && !base.is_empty()
    {
        return (base, Some(Operator::Prefix));
    }
    if let Some((base, digits)) = word.rsplit_once('~')
        && !base.is_empty()
        && let Ok(distance) = digits.parse::<u8>()
    {
        return (base, Some(Operator::Fuzzy(distance)));
    }
    (word, None)
}

/// Analysts narrow down: `boeren snelweg` means both words.
fn to_occur(occur: Option<Occur>) -> Occur {
    occur.unwrap_or(Occur::Must)
}

fn with_field(leaf: &UserInputLeaf, name: &str) -> UserInputLeaf {
    match leaf.clone() {
        UserInputLeaf::Range { lower, upper, .. } => {
            UserInputLeaf::Range { field: Some(name.to_owned()), lower, upper }
        }
        UserInputLeaf::Set { elements, .. } => UserInputLeaf::Set { field: Some(name.to_owned()), elements },
        other => other,
    }
}

/// Times in a query: `published_at` and `event_time` take RFC 3339 times, or
/// a date (midnight UTC), and `*` for an open end of a range; a date on its
/// own (`published_at:2026-11-01`) is that whole day in UTC.
mod dates {
    use chrono::{DateTime, Days, NaiveDate};

    use super::{Refusal, UserInputBound, UserInputLeaf, UserInputLiteral};
    use crate::query::DATE_FIELDS;

    /// The leaf with its times made whole, when it is about a date field; `None` otherwise.
    pub(super) fn normalise(leaf: &UserInputLeaf) -> Result<Option<UserInputLeaf>, Refusal> {
        match leaf {
            UserInputLeaf::Range { field: Some(field), lower, upper } if is_date(field) => {
                Ok(Some(UserInputLeaf::Range {
                    field: Some(field.clone()),
                    lower: bound(field, lower)?,
                    upper: bound(field, upper)?,
                }))
            }
            UserInputLeaf::Literal(UserInputLiteral { field_name: Some(field), phrase, .. }) if is_date(field) => {
                if let Some(day) = day(phrase) {
                    let next = day.checked_add_days(Days::new(1)).ok_or_else(|| refusal(field, phrase))?;
                    return Ok(Some(UserInputLeaf::Range {
                        field: Some(field.clone()),
                        lower: UserInputBound::Inclusive(midnight(day)),
                        upper: UserInputBound::Exclusive(midnight(next)),
                    }));
                }
                time(field, phrase)?;
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    fn is_date(field: &str) -> bool {
        DATE_FIELDS.contains(&field)
    }

    fn bound(field: &str, bound: &UserInputBound) -> Result<UserInputBound, Refusal> {
        Ok(match bound {
            UserInputBound::Inclusive(value) => UserInputBound::Inclusive(time(field, value)?),
            UserInputBound::Exclusive(value) => UserInputBound::Exclusive(time(field, value)?),
            UserInputBound::Unbounded => UserInputBound::Unbounded,
        })
    }

    /// The value as an RFC 3339 time tantivy reads; a date becomes its midnight in UTC.
    fn time(field: &str, value: &str) -> Result<String, Refusal> {
        if let Some(day) = day(value) {
            return Ok(midnight(day));
        }
        match DateTime::parse_from_rfc3339(value) {
            Ok(t) => Ok(t.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            Err(_) => Err(refusal(field, value)),
        }
    }

    fn day(value: &str) -> Option<NaiveDate> {
        (value.len() == 10).then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()).flatten()
    }

    fn midnight(day: NaiveDate) -> String {
        format!("{}T00:00:00Z", day.format("%Y-%m-%d"))
    }

    fn refusal(field: &str, value: &str) -> Refusal {
        let shown: String = value.chars().take(40).collect();
        Refusal::new(
            "date",
            format!(
                "{field} takes a time such as 2026-11-01T00:00:00Z or a date such as 2026-11-01 \
                 (and * for an open end of a range), not {shown:?}"
            ),
        )
    }
}
