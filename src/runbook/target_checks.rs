//! The preflight's checks of the target, before anything on the old system is stopped: only
//! the documented read APIs, nothing of the user data is written.
//!
//! - the credentials: `account_check` of the admin, signed as the admin (an identifier that
//!   is not an app admin, a wrong key or data center is refused here);
//! - the relay's admin (`[sync] relay_admin`), when the runbook has sync: the same call signed
//!   as the relay, which writes as its own admin;
//! - the declared custom profile tags: `portrait_get` of the admin with each
//!   `Tag_Profile_Custom_<Key>`, which answers 40009 when the tag was not created in the
//!   console.
//!
//! What no read API reveals (friend custom tags, group custom fields, write permission on a
//! profile tag) is said plainly, with how a canary run covers it. A transient answer (HTTP
//! 5xx, a timeout, 60007) is asked again a few times, an answer that is not Tencent's fewer
//! times; what retrying cannot mend (an untrusted certificate, a host name that does not
//! resolve, HTTP 401/403, a refused signature) fails at once.

use super::error::RunbookError;
use crate::config::Runbook;
use crate::tim::client::{CallError, ClientConfig, TimClient};
use crate::tim::errors::ErrorClass;
use crate::tim::wire::account::{AccountCheck, CheckItem};
use crate::tim::wire::profile::PortraitGet;
use crate::tim::wire::Request;

/// Transient answers asked again before a check counts as failed.
const TRANSIENT_TRIES: u32 = 5;
/// Answers that are not Tencent's asked again before the target is refused.
const PROTOCOL_TRIES: u32 = 2;

/// The prefix of a custom profile tag (§3.3).
const PROFILE_CUSTOM: &str = "Tag_Profile_Custom_";

/// What the checks found: one line for the preflight step's note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetChecks {
    /// What was checked and held.
    pub(crate) checked: Vec<String>,
    /// What could not be checked, and how the canary covers it.
    pub(crate) unchecked: String,
}

impl TargetChecks {
    /// `target: credentials ok, …; not checkable before the stop: …`.
    pub fn note(&self) -> String {
        format!("target: {}; {}", self.checked.join(", "), self.unchecked)
    }
}

/// Checks the target of `rb` through `client` (signed as the runbook's admin), with
/// `profile_tags` the keys of the custom profile tags the runbook declares.
pub async fn check(
    client: &TimClient,
    rb: &Runbook,
    profile_tags: &[String],
) -> Result<TargetChecks, RunbookError> {
    let mut checked = Vec::new();
    admin(client, rb).await?;
    checked.push(format!("credentials of {} ok", rb.admin));
    if let Some(sync) = &rb.sync {
        if sync.relay_admin != rb.admin {
            relay_admin(rb, &sync.relay_admin).await?;
        }
        checked.push(format!("relay admin {} ok", sync.relay_admin));
    }
    let tags = profile_tags_of(client, rb, profile_tags).await?;
    if !profile_tags.is_empty() {
        checked.push(tags);
    }
    let unchecked = unchecked_note(rb.canary.is_some());
    tracing::info!(checked = %checked.join(", "), "preflight target checks");
    tracing::info!("{unchecked}");
    Ok(TargetChecks { checked, unchecked })
}

/// The credentials: `account_check` of the admin, as the admin.
async fn admin(client: &TimClient, rb: &Runbook) -> Result<(), RunbookError> {
    let check = account_check(&rb.admin);
    call(client, &check, rb).await.map_err(|e| {
        refused(
            rb,
            &format!(
                "the credentials check (account_check of the admin {})",
                rb.admin
            ),
            &e,
        )
    })?;
    Ok(())
}

/// The relay's admin: the same call signed as the relay, which writes as its own admin.
async fn relay_admin(rb: &Runbook, relay: &str) -> Result<(), RunbookError> {
    let config = ClientConfig::new(rb.target.clone(), rb.sdkappid, relay, rb.key.clone());
    let client = TimClient::new(config)?;
    call(&client, &account_check(relay), rb)
        .await
        .map_err(|e| {
            refused(
                rb,
                &format!(
                "the check of [sync] relay_admin {relay} (account_check signed as it; the relay \
                 writes as this admin, which must be one of the app's admins in the console)"
            ),
                &e,
            )
        })?;
    Ok(())
}

fn account_check(id: &str) -> AccountCheck {
    AccountCheck {
        CheckItem: vec![CheckItem { UserID: id.into() }],
    }
}

/// The declared custom profile tags, one `portrait_get` each: `… ok` or the failure naming
/// every tag the target does not have.
async fn profile_tags_of(
    client: &TimClient,
    rb: &Runbook,
    keys: &[String],
) -> Result<String, RunbookError> {
    let (mut present, mut missing, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for key in keys {
        let tag = format!("{PROFILE_CUSTOM}{key}");
        let get = PortraitGet {
            To_Account: vec![rb.admin.clone()],
            TagList: vec![tag.clone()],
        };
        match call(client, &get, rb).await {
            Ok(answer) => match answer.UserProfileItem.first().map(|i| i.ResultCode) {
                // 40007: the admin may not read it, so it exists.
                Some(0 | 40007) => present.push(tag),
                Some(40009) => missing.push(tag),
                // 40003 (the admin is no account whose profile can be read), or no answer
                // for it: says nothing about the tag.
                _ => unknown.push(tag),
            },
            Err(e) if e.code() == Some(40009) => missing.push(tag),
            // The admin may not read it, so it exists.
            Err(e) if e.code() == Some(40007) => present.push(tag),
            Err(e) => {
                return Err(refused(
                    rb,
                    &format!("the check of the profile tag {tag} (portrait_get)"),
                    &e,
                ))
            }
        }
    }
    if !missing.is_empty() {
        return Err(RunbookError::Target(format!(
            "the target has no custom profile tag {} (portrait_get answered 40009), though the \
             runbook's [app] profile_custom_tags declares it: create it in the console (Chat > \
             Configuration > Profile custom fields; it takes effect within 5 minutes), or drop it \
             from the import; nothing was stopped",
            missing.join(", ")
        )));
    }
    let mut line = format!("profile tags {} ok", present.join(", "));
    if !unknown.is_empty() {
        line.push_str(&format!(
            " ({} unchecked: the target read no profile of the admin {})",
            unknown.join(", "),
            rb.admin
        ));
    }
    Ok(line)
}

/// What no read API reveals, and how the canary covers it.
fn unchecked_note(canary: bool) -> String {
    let cover = if canary {
        "this canary run writes them for its accounts"
    } else {
        "a canary run (cutover run --only accounts:FILE) writes them for a few accounts first"
    };
    format!(
        "not checkable before the stop: friend custom tags (Tag_SNS_Custom_*) and group custom \
         fields have no read API that reveals them, nor has the admin's write permission on a \
         profile tag (40008); {cover}"
    )
}

/// Calls `request`, asking again after transient answers (a few times) and after answers
/// that are not Tencent's (fewer times); what retrying cannot mend fails at once.
async fn call<R: Request>(
    client: &TimClient,
    request: &R,
    rb: &Runbook,
) -> Result<R::Response, CallError> {
    let mut attempt = 0;
    loop {
        match client.call(request).await {
            Ok(answer) => return Ok(answer),
            Err(e) if e.class() == ErrorClass::Protocol && attempt >= PROTOCOL_TRIES => {
                return Err(e)
            }
            Err(e) if e.class().is_retryable() && attempt < TRANSIENT_TRIES => {
                tracing::warn!(target = %rb.target.base(), error = %e, "preflight: asking again");
                tokio::time::sleep(crate::tim::lane::retry_delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The preflight's refusal of `what` after `e`.
fn refused(rb: &Runbook, what: &str, e: &CallError) -> RunbookError {
    RunbookError::Target(match e.class() {
        ErrorClass::Protocol => format!(
            "the target {} does not answer like Tencent IM, so nothing was imported \
             (is a proxy in the way, or the URL wrong?): {e}",
            rb.target.base()
        ),
        // No answer from Tencent at all: the connection or a proxy in the way.
        ErrorClass::Fatal if e.code().is_none() => {
            format!("{e}; nothing was stopped or imported")
        }
        ErrorClass::Fatal | ErrorClass::Item => format!("{what} failed: {e}"),
        _ => format!("{what} failed after {} tries: {e}", TRANSIENT_TRIES + 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_says_what_the_canary_covers() {
        let plain = unchecked_note(false);
        assert!(plain.contains("Tag_SNS_Custom_"), "{plain}");
        assert!(plain.contains("group custom fields"), "{plain}");
        assert!(plain.contains("--only accounts:FILE"), "{plain}");
        assert!(unchecked_note(true).contains("this canary run"));
        let checks = TargetChecks {
            checked: vec!["credentials of admin ok".into()],
            unchecked: plain,
        };
        assert!(checks
            .note()
            .starts_with("target: credentials of admin ok; not checkable"));
    }
}
