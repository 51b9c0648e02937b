//! `cutover plan --scenario`: the migration guide's scenario table applied to the old system's
//! four facts, given as flags or (on a terminal) asked for.

use super::Outcome;
use crate::cli::PlanArgs;
use crate::model::scenario::{advise, Advice, Facts, OldSystem};
use anyhow::{bail, Context};
use std::io::{BufRead, IsTerminal, Write};

/// One fact: its flag, the question asked on a terminal, and the answers it takes.
struct Question {
    flag: &'static str,
    ask: &'static str,
    answers: &'static [&'static str],
}

const QUESTIONS: [Question; 4] = [
    Question {
        flag: "--old-system",
        ask: "Is the old IM another provider's (third-party) or the app's own (self-built)?",
        answers: &["third-party", "self-built"],
    },
    Question {
        flag: "--accounts-in-old-system",
        ask: "Are accounts, profiles and friend lists hosted in the old system, with none kept by the app's backend?",
        answers: &["yes", "no"],
    },
    Question {
        flag: "--message-routing",
        ask: "Does the old system forward a copy of every message to the app's backend (message routing callbacks)?",
        answers: &["yes", "no"],
    },
    Question {
        flag: "--richer-callbacks",
        ask: "Does the old system offer callbacks beyond messages (account, profile, friend, group events)?",
        answers: &["yes", "no"],
    },
];

/// Runs `cutover plan --scenario`.
pub(crate) fn run(args: &PlanArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut given = [
        args.old_system.clone(),
        args.accounts_in_old_system.clone(),
        args.message_routing.clone(),
        args.richer_callbacks.clone(),
    ];
    let missing: Vec<&str> = QUESTIONS
        .iter()
        .zip(&given)
        .filter(|(_, v)| v.is_none())
        .map(|(q, _)| q.flag)
        .collect();
    if !missing.is_empty() {
        if !std::io::stdin().is_terminal() {
            bail!(
                "the scenario advisor needs the four facts; missing: {} (give them as flags, or \
                 run on a terminal to be asked)",
                missing.join(", ")
            );
        }
        ask_missing(&mut given)?;
    }
    let facts = facts_of(&given)?;
    let advice = advise(facts);
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&advice)?)?;
    } else {
        print_advice(&advice, out)?;
    }
    Ok(Outcome::Ok)
}

/// Asks on the terminal for each fact not given, until each answer is one it takes.
fn ask_missing(given: &mut [Option<String>; 4]) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    // The questions go to stderr, so the advice on stdout stays clean for a pipe.
    let mut err = std::io::stderr();
    for (q, value) in QUESTIONS.iter().zip(given.iter_mut()) {
        while value.is_none() {
            write!(err, "{} [{}] ", q.ask, q.answers.join("/"))?;
            err.flush()?;
            let line = lines
                .next()
                .context("no answer: the input ended")?
                .context("cannot read the answer")?;
            let answer = line.trim().to_ascii_lowercase().replace('_', "-");
            if q.answers.contains(&answer.as_str()) {
                *value = Some(answer);
            } else {
                writeln!(err, "  answer one of: {}", q.answers.join(", "))?;
            }
        }
    }
    Ok(())
}

/// The facts of four answers (each already one of its allowed values).
fn facts_of(given: &[Option<String>; 4]) -> anyhow::Result<Facts> {
    let yes = |i: usize| -> anyhow::Result<bool> {
        match given[i].as_deref() {
            Some("yes") => Ok(true),
            Some("no") => Ok(false),
            other => bail!("{}: {other:?} is not yes or no", QUESTIONS[i].flag),
        }
    };
    let old = given[0].as_deref().and_then(OldSystem::parse);
    let Some(old_system) = old else {
        bail!("--old-system: give third-party or self-built");
    };
    Ok(Facts {
        old_system,
        accounts_in_old_system: yes(1)?,
        message_routing: yes(2)?,
        richer_callbacks: yes(3)?,
    })
}

fn print_advice(a: &Advice, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "facts: {}", a.facts.describe())?;
    match (a.scenario, a.derived) {
        (Some(n), _) => writeln!(out, "scenario {n} of the migration guide's table")?,
        (None, Some(label)) => writeln!(
            out,
            "none of the guide's four scenarios has these facts; what follows is {label}"
        )?,
        (None, None) => {}
    }
    writeln!(out, "  forced upgrade            {}", a.forced_upgrade)?;
    writeln!(
        out,
        "  coexistence, one-to-one   {}",
        a.coexistence_one_to_one
    )?;
    writeln!(out, "  coexistence, group        {}", a.coexistence_group)?;
    writeln!(out, "  how: {}", a.how)?;
    let heading = if a.scenario.is_some() {
        "the guide's reason:"
    } else {
        "what the guide's reasons rule out:"
    };
    writeln!(out, "{heading}")?;
    for r in &a.reasons {
        writeln!(out, "  {r}")?;
    }
    if let Some(ask) = a.ask_tencent {
        writeln!(out, "{ask}")?;
    }
    let yn = |b: bool| if b { "true" } else { "false" };
    let old = match a.facts.old_system {
        OldSystem::ThirdParty => "third_party",
        OldSystem::SelfBuilt => "self_built",
    };
    writeln!(
        out,
        "for the runbook (then `cutover run` refuses a strategy these facts rule out):\n  \
         [scenario]\n  old_system = \"{old}\"\n  accounts_in_old_system = {}\n  \
         message_routing = {}\n  richer_callbacks = {}",
        yn(a.facts.accounts_in_old_system),
        yn(a.facts.message_routing),
        yn(a.facts.richer_callbacks)
    )
}
