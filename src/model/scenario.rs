//! The migration guide's scenario table (shared/spec/scenarios.md) as data: the four facts
//! that decide, the four rows with the strategies each allows and the guide's reasons, and the
//! matching of a set of facts to a row. A combination that is no row gets an answer derived
//! only from the stated reasons, labelled as such.

use serde::Serialize;
use std::fmt;

/// Where the old IM comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OldSystem {
    /// Another IM provider.
    ThirdParty,
    /// The app's own IM.
    SelfBuilt,
}

impl OldSystem {
    /// The value as written in flags and runbooks (`third-party` and `third_party` both read).
    pub(crate) fn parse(text: &str) -> Option<OldSystem> {
        match text.trim().replace('_', "-").as_str() {
            "third-party" => Some(OldSystem::ThirdParty),
            "self-built" => Some(OldSystem::SelfBuilt),
            _ => None,
        }
    }

    /// The guide's words.
    pub(crate) fn words(self) -> &'static str {
        match self {
            OldSystem::ThirdParty => "third party",
            OldSystem::SelfBuilt => "self-built",
        }
    }
}

/// The four facts about the old system that decide which strategies are possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Facts {
    /// Another provider's IM, or the app's own.
    pub(crate) old_system: OldSystem,
    /// Accounts, profiles and friend lists are hosted in the old system (the app's backend
    /// keeps none of them).
    pub(crate) accounts_in_old_system: bool,
    /// The old system forwards a copy of every message to the app's backend.
    pub(crate) message_routing: bool,
    /// The old system offers callbacks beyond messages (account, profile, friend, group).
    pub(crate) richer_callbacks: bool,
}

impl Facts {
    /// One line in the table's words.
    pub(crate) fn describe(&self) -> String {
        let yn = |b: bool| if b { "yes" } else { "no" };
        format!(
            "old system {}, accounts/profiles/friends hosted in old {}, message routing {}, richer callbacks {}",
            self.old_system.words(),
            yn(self.accounts_in_old_system),
            yn(self.message_routing),
            yn(self.richer_callbacks)
        )
    }
}

/// Whether a strategy can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// The guide says it is possible.
    Possible,
    /// The guide says it is not possible (or, for a combination that is no row, a stated
    /// reason rules it out).
    NotPossible,
    /// A combination that is no row, and no stated reason rules it out: only Tencent can say.
    NotRuledOut,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Possible => "possible",
            Verdict::NotPossible => "not possible",
            Verdict::NotRuledOut => "not ruled out by the guide's reasons (ask Tencent)",
        })
    }
}

/// One row of the guide's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    /// 1 to 4.
    pub(crate) scenario: u8,
    /// The facts of the row.
    pub(crate) facts: Facts,
    /// Coexistence for one-to-one chat.
    pub(crate) one_to_one: Verdict,
    /// Coexistence for group chat.
    pub(crate) group: Verdict,
    /// The table's "how" column.
    pub(crate) how: &'static str,
    /// The guide's reason.
    pub(crate) reason: &'static str,
}

const fn facts(old: OldSystem, accounts: bool, routing: bool, richer: bool) -> Facts {
    Facts {
        old_system: old,
        accounts_in_old_system: accounts,
        message_routing: routing,
        richer_callbacks: richer,
    }
}

/// The guide's table, row by row.
pub(crate) const ROWS: [Row; 4] = [
    Row {
        scenario: 1,
        facts: facts(OldSystem::ThirdParty, true, false, false),
        one_to_one: Verdict::NotPossible,
        group: Verdict::NotPossible,
        how: "forced upgrade",
        reason: "With no message routing, two-way sync between old and new is essentially \
                 impossible; the only strategy is forced upgrade.",
    },
    Row {
        scenario: 2,
        facts: facts(OldSystem::ThirdParty, true, true, false),
        one_to_one: Verdict::NotPossible,
        group: Verdict::NotPossible,
        how: "forced upgrade",
        reason: "The old provider routes messages but nothing more. Since the account system \
                 lives entirely in the old system, users who register there cannot be synced \
                 to the new system in real time, so only forced upgrade is possible.",
    },
    Row {
        scenario: 3,
        facts: facts(OldSystem::ThirdParty, false, true, false),
        one_to_one: Verdict::Possible,
        group: Verdict::NotPossible,
        how: "forced upgrade, or coexistence",
        reason: "Accounts, profiles and friend lists are the app's own and only mirrored into \
                 the old system, so they can be kept in sync both ways. One-to-one chat can use \
                 coexistence; group chat can still only be migrated by forced upgrade (no group \
                 events come out of the old system).",
    },
    Row {
        scenario: 4,
        facts: facts(OldSystem::SelfBuilt, false, true, true),
        one_to_one: Verdict::Possible,
        group: Verdict::Possible,
        how: "forced upgrade, or coexistence",
        reason: "The old system is the app's own, so everything is under the app's control and \
                 two-way sync is feasible for everything: either strategy may be used.",
    },
];

/// The guide's advice when no scenario fits.
pub(crate) const ASK_TENCENT: &str =
    "None of the guide's four scenarios fits: the guide's advice is \
    to work out a migration plan with Tencent's business contact.";

/// Says that an answer is not one of the guide's rows.
pub(crate) const DERIVED_LABEL: &str = "derived from the guide's reasons, not a row of the guide";

/// What the advisor says about a set of facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Advice {
    /// The facts asked about.
    pub(crate) facts: Facts,
    /// The matching scenario (1–4), or none.
    pub(crate) scenario: Option<u8>,
    /// Forced upgrade: possible in every scenario.
    pub(crate) forced_upgrade: Verdict,
    /// Coexistence for one-to-one chat.
    pub(crate) coexistence_one_to_one: Verdict,
    /// Coexistence for group chat.
    pub(crate) coexistence_group: Verdict,
    /// The table's "how", or for a combination that is no row what the reasons leave.
    pub(crate) how: String,
    /// The guide's reason (a row), or the stated reasons that rule something out (no row).
    pub(crate) reasons: Vec<String>,
    /// `Some(DERIVED_LABEL)` when the answer is not a row of the guide.
    pub(crate) derived: Option<&'static str>,
    /// The guide's advice to work the plan out with Tencent, when no row fits.
    pub(crate) ask_tencent: Option<&'static str>,
}

impl Advice {
    /// Why coexistence cannot be used here, when the guide (or a stated reason) rules it out.
    pub(crate) fn coexistence_refusal(&self) -> Option<String> {
        if self.coexistence_one_to_one != Verdict::NotPossible {
            return None;
        }
        let which = match self.scenario {
            Some(n) => format!("scenario {n}"),
            None => format!("these facts ({})", DERIVED_LABEL),
        };
        Some(format!(
            "coexistence is not possible in {which}: {}",
            self.reasons.join(" ")
        ))
    }

    /// `scenario 3` or `no scenario (derived)`, for headers.
    pub(crate) fn label(&self) -> String {
        match self.scenario {
            Some(n) => format!("scenario {n}"),
            None => "no scenario of the guide (derived)".into(),
        }
    }
}

/// The stated reasons, each as one rule over one fact (spec: "say it, do not invent more").
const NO_ROUTING: &str = "No message routing: two-way sync between old and new is essentially \
    impossible, so no coexistence at all (reason of scenario 1).";
const ACCOUNTS_IN_OLD: &str = "Accounts hosted in the old system: users who register there \
    cannot be synced to the new system in real time, so no coexistence (reason of scenario 2).";
const NO_RICHER: &str = "No richer callbacks: no group events come out of the old system, so \
    group chat cannot use coexistence (reason of scenario 3).";

/// The advisor: the guide's row for `facts`, or an answer derived from the reasons.
pub(crate) fn advise(facts: Facts) -> Advice {
    if let Some(row) = ROWS.iter().find(|r| r.facts == facts) {
        return Advice {
            facts,
            scenario: Some(row.scenario),
            forced_upgrade: Verdict::Possible,
            coexistence_one_to_one: row.one_to_one,
            coexistence_group: row.group,
            how: row.how.into(),
            reasons: vec![row.reason.into()],
            derived: None,
            ask_tencent: None,
        };
    }
    let mut reasons = Vec::new();
    if !facts.message_routing {
        reasons.push(NO_ROUTING.to_string());
    }
    if facts.accounts_in_old_system {
        reasons.push(ACCOUNTS_IN_OLD.to_string());
    }
    let no_sync = !facts.message_routing || facts.accounts_in_old_system;
    if !facts.richer_callbacks && !no_sync {
        reasons.push(NO_RICHER.to_string());
    }
    let one_to_one = if no_sync {
        Verdict::NotPossible
    } else {
        Verdict::NotRuledOut
    };
    let group = if no_sync || !facts.richer_callbacks {
        Verdict::NotPossible
    } else {
        Verdict::NotRuledOut
    };
    let how = if no_sync {
        "forced upgrade (the reasons rule coexistence out)"
    } else {
        "forced upgrade; coexistence only as Tencent confirms"
    };
    if reasons.is_empty() {
        reasons.push("No stated reason rules coexistence out for these facts.".into());
    }
    Advice {
        facts,
        scenario: None,
        forced_upgrade: Verdict::Possible,
        coexistence_one_to_one: one_to_one,
        coexistence_group: group,
        how: how.into(),
        reasons,
        derived: Some(DERIVED_LABEL),
        ask_tencent: Some(ASK_TENCENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_of_the_table_is_its_own_scenario() {
        use Verdict::{NotPossible as No, Possible as Yes};
        let expected = [(1, No, No), (2, No, No), (3, Yes, No), (4, Yes, Yes)];
        for (row, (n, c2c, group)) in ROWS.iter().zip(expected) {
            let a = advise(row.facts);
            assert_eq!(a.scenario, Some(n));
            assert_eq!(a.forced_upgrade, Yes);
            assert_eq!(
                (a.coexistence_one_to_one, a.coexistence_group),
                (c2c, group)
            );
            assert_eq!(a.derived, None);
            assert_eq!(a.reasons, vec![row.reason.to_string()]);
        }
    }

    #[test]
    fn a_combination_that_is_no_row_is_derived_and_sent_to_tencent() {
        // A self-built old system with no richer callbacks: not one of the four rows.
        let a = advise(facts(OldSystem::SelfBuilt, false, true, false));
        assert_eq!(a.scenario, None);
        assert_eq!(a.derived, Some(DERIVED_LABEL));
        assert_eq!(a.ask_tencent, Some(ASK_TENCENT));
        assert_eq!(a.coexistence_one_to_one, Verdict::NotRuledOut);
        assert_eq!(a.coexistence_group, Verdict::NotPossible);
        assert!(a.coexistence_refusal().is_none());
        // No routing rules every coexistence out, whatever else holds.
        let a = advise(facts(OldSystem::SelfBuilt, false, false, true));
        assert_eq!(a.coexistence_one_to_one, Verdict::NotPossible);
        assert!(a
            .coexistence_refusal()
            .unwrap_or_default()
            .contains(DERIVED_LABEL));
    }

    #[test]
    fn scenario_one_refuses_coexistence_with_the_guides_reason() {
        let why = advise(ROWS[0].facts)
            .coexistence_refusal()
            .unwrap_or_default();
        assert!(
            why.starts_with("coexistence is not possible in scenario 1"),
            "{why}"
        );
        assert!(why.contains("no message routing"), "{why}");
    }
}
