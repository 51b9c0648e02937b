//! Every Tencent IM error code the spec documents: what it means and what to do about it.
//!
//! One table, used wherever a code is classified or shown (engine retries, the error table,
//! reports), so a code means the same thing everywhere. A few codes mean something more
//! precise on one API (10004 on import_group_msg is a send time refused): [`lookup_for`] gives
//! that meaning where the API is known. Codes not in the table are treated as permanent for
//! the item, as the spec's retry recommendation says (§1.3).

use crate::tim::api::Api;
use serde::Serialize;

/// What a code asks the caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Transient: retry the same request with exponential backoff.
    Retry,
    /// The server's rate limit: slow the lane down, then retry.
    RateLimited,
    /// The UserSig expired: make a new one, then retry.
    RenewCredentials,
    /// This item is refused as it is: record it for the operator (retry, skip, export).
    Item,
    /// Nothing will work until a person fixes the setup (key, app, admin, plan): stop the run.
    Fatal,
    /// The answer is not Tencent's (no envelope, `{}`, HTML, missing per-item results): a
    /// proxy or a wrong URL is in the way. Retried a few times like a transient failure; if it
    /// persists the caller stops, saying the target does not speak Tencent IM.
    Protocol,
}

impl ErrorClass {
    /// True when sending again (after waiting or renewing) can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Retry
                | ErrorClass::RateLimited
                | ErrorClass::RenewCredentials
                | ErrorClass::Protocol
        )
    }
}

/// One documented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ErrorCode {
    /// The numeric code.
    pub(crate) code: i64,
    /// What to do about it.
    pub class: ErrorClass,
    /// What it means, for a person.
    pub meaning: &'static str,
}

use ErrorClass::{Fatal, Item, RateLimited, RenewCredentials, Retry};

/// The table, sorted by code (a test keeps it so).
const TABLE: &[(i64, ErrorClass, &str)] = &[
    (10002, Retry, "group service internal error"),
    (10003, Item, "invalid command"),
    (10004, Item, "invalid parameter"),
    (10005, Item, "too many accounts in one request"),
    (10006, RateLimited, "group operation frequency limit"),
    (
        10007,
        Item,
        "no permission (for example an AVChatRoom, which cannot be imported into)",
    ),
    (10008, Item, "invalid request"),
    (10010, Item, "group does not exist or was dismissed"),
    (10014, Item, "group is full"),
    (10015, Item, "invalid GroupId"),
    (10016, Item, "rejected by the app's before-callback"),
    (10017, Item, "sender is muted"),
    (
        10018,
        Item,
        "response over 1 MB: ask for fewer items per page",
    ),
    (10019, Item, "UserID does not exist"),
    (10020, Item, "message too long"),
    (
        10021,
        Item,
        "GroupId already used (after a retried import: probably created by us)",
    ),
    (
        10023,
        RateLimited,
        "group message frequency exceeded (40 messages/s per group)",
    ),
    (
        10025,
        Item,
        "GroupId already used by this app: destroy it first",
    ),
    (10026, Fatal, "command disabled for this SDKAppID"),
    (
        10030,
        Item,
        "message not found (a recall: recalled already or gone)",
    ),
    (10036, Item, "AVChatRoom count limit"),
    (10037, Item, "a member's joined-group limit"),
    (10038, Item, "member count over the plan's limit"),
    (10058, Fatal, "trial plan: at most 100 groups"),
    (20001, Item, "invalid request"),
    (20002, Fatal, "UserSig invalid"),
    (20003, Item, "sender or receiver invalid or not imported"),
    (20004, Retry, "network error"),
    (20005, Retry, "message service internal error"),
    (20006, Item, "blocked by the app's before-send callback"),
    (
        20022,
        Item,
        "message to withdraw not found (withdrawn already or gone)",
    ),
    (20023, Item, "message withdrawn already"),
    (30001, Item, "invalid parameter"),
    (30002, Fatal, "SDKAppID mismatch"),
    (30003, Item, "account does not exist"),
    (30004, Fatal, "needs an app admin"),
    (30005, Item, "contains a sensitive word"),
    (30006, Retry, "relation-chain internal error"),
    (30007, Retry, "relation-chain network timeout"),
    (
        30008,
        Retry,
        "concurrent write conflict: send one owner's entries serially",
    ),
    (30009, Item, "user is banned from adding friends"),
    (30010, Item, "friend list is full (3000)"),
    (30011, Item, "friend-group count at its limit (32)"),
    (30012, Item, "pending friend requests at their limit"),
    (30014, Item, "the peer's friend list is full"),
    (30515, Item, "peer is in the user's blocklist"),
    (30516, Item, "peer accepts no friend requests"),
    (30525, Item, "user is in the peer's blocklist"),
    (30539, Item, "pending: the peer must confirm"),
    (30540, Item, "blocked by security policy"),
    (
        31704,
        Item,
        "not friends (a friend deletion: deleted already)",
    ),
    (31707, RateLimited, "friend deletion frequency limit"),
    (40001, Item, "invalid profile parameter"),
    (40002, Item, "no To_Account given"),
    (40003, Item, "account does not exist"),
    (40004, Fatal, "needs an app admin"),
    (40005, Item, "profile contains a sensitive word"),
    (40006, Retry, "profile service internal error"),
    (40007, Item, "no read permission on the profile field"),
    (40008, Item, "no write permission on the profile field"),
    (
        40009,
        Item,
        "profile tag does not exist (create custom tags in the console first)",
    ),
    (40601, Item, "profile value over 500 bytes"),
    (40605, Item, "invalid value for a standard profile field"),
    (40610, Item, "profile value of the wrong type"),
    (60002, Item, "HTTP parse error: check the URL"),
    (60003, Item, "request body is not valid JSON"),
    (60004, Fatal, "account or signature error in the URL"),
    (60005, Fatal, "account or signature error in the URL"),
    (60006, Fatal, "SDKAppID invalid"),
    (60007, RateLimited, "REST API call frequency over the limit"),
    (60008, Retry, "service request timeout or bad HTTP request"),
    (60009, Fatal, "request resource error: check the URL"),
    (60010, Fatal, "needs an app admin"),
    (
        60011,
        RateLimited,
        "SDKAppID request frequency over the limit",
    ),
    (60012, Fatal, "SDKAppID missing from the URL"),
    (60013, Retry, "HTTP response JSON parse error"),
    (60014, Retry, "account exchange timeout"),
    (
        60015,
        Item,
        "account type in the body is wrong: accounts must be strings",
    ),
    (60016, Fatal, "SDKAppID disabled"),
    (60017, Fatal, "request disabled"),
    (60018, RateLimited, "request too frequent"),
    (60019, RateLimited, "request too frequent"),
    (60020, Fatal, "plan expired or disabled"),
    (60021, Fatal, "caller IP not on the allow-list"),
    (70001, RenewCredentials, "UserSig expired"),
    (70002, Fatal, "UserSig is empty"),
    (70003, Fatal, "UserSig cannot be decoded"),
    (70009, Fatal, "UserSig signed with another key"),
    (70013, Fatal, "identifier differs from the UserSig's"),
    (70014, Fatal, "SDKAppID differs from the UserSig's"),
    (
        70016,
        Fatal,
        "key not found: check the SDKAppID's data center",
    ),
    (70020, Fatal, "SDKAppID not found: check its data center"),
    (
        70050,
        RateLimited,
        "UserSig verification failures rate-limited: wait a minute",
    ),
    (70051, Item, "account is blocklisted"),
    (70107, Item, "account not imported"),
    (70169, Retry, "account service internal timeout"),
    (70202, Retry, "account service internal timeout"),
    (
        70398,
        Fatal,
        "account count over the plan's limit (trial apps: 100)",
    ),
    (70402, Item, "invalid parameter"),
    (70403, Fatal, "needs an app admin"),
    (70500, Retry, "account service internal error"),
    (80001, Item, "contains a sensitive word"),
    (80002, Item, "message too long"),
    (90001, Item, "JSON parse failed"),
    (90002, Item, "MsgBody invalid"),
    (90003, Item, "To_Account missing or not a string"),
    (90005, Item, "MsgRandom missing or not an integer"),
    (90006, Item, "MsgTimeStamp missing or not an integer"),
    (90007, Item, "MsgBody is not an array"),
    (90008, Item, "From_Account missing or invalid"),
    (90009, Fatal, "needs an app admin"),
    (
        90010,
        Item,
        "message body does not match the message format",
    ),
    (90011, Item, "more than 500 targets"),
    (90012, Item, "To_Account not imported"),
    (90026, Item, "offline storage time invalid (over 7 days)"),
    (90030, Item, "SyncFromOldSystem missing or not an integer"),
    (90031, Item, "SyncOtherMachine not an integer"),
    (90044, Item, "MsgLifeTime not an integer"),
    (90048, Item, "account does not exist"),
    (90992, Retry, "message service internal error"),
    (91000, Retry, "message service internal error"),
    (93000, Item, "message over 12 KB"),
];

/// What a code means on one API where that differs from the table's meaning (the class stays
/// the table's).
const ON_API: &[(Api, i64, &str)] = &[
    (
        Api::ImportGroupMsg,
        10004,
        "send time invalid (must be newer than the group's newest message)",
    ),
    (Api::CreateGroup, 10006, DAILY_CAP_MEANING),
    (Api::ImportGroup, 10006, DAILY_CAP_MEANING),
];

/// 10006 on the APIs that make groups (see [`is_daily_group_cap`]).
const DAILY_CAP_MEANING: &str = "the app's daily net-new group cap (lifts the next day)";

/// What `code` means and what to do about it, whatever the API (see [`lookup_for`] when it is
/// known). Undocumented codes are permanent for the item.
pub fn lookup(code: i64) -> ErrorCode {
    match TABLE.binary_search_by_key(&code, |(c, _, _)| *c) {
        Ok(i) => {
            let (code, class, meaning) = TABLE[i];
            ErrorCode {
                code,
                class,
                meaning,
            }
        }
        Err(_) => ErrorCode {
            code,
            class: Item,
            meaning: UNDOCUMENTED,
        },
    }
}

/// What `code` means when `api` answered it: [`lookup`], with the API's own meaning where the
/// code has one there.
pub(crate) fn lookup_for(api: Api, code: i64) -> ErrorCode {
    let mut found = lookup(code);
    if let Some((_, _, meaning)) = ON_API.iter().find(|(a, c, _)| *a == api && *c == code) {
        found.meaning = meaning;
    }
    found
}

/// [`lookup_for`] by the API's command name, as the store keeps it (`import_group_msg`); a
/// name that is no API's gets [`lookup`].
pub(crate) fn lookup_named(command: &str, code: i64) -> ErrorCode {
    Api::from_command(command).map_or_else(|| lookup(code), |api| lookup_for(api, code))
}

/// Whether a request answered with `code` may nevertheless have been applied: the transient
/// codes (internal errors and timeouts, §1.3: 60008, 10002, 70169, 90992, …) say the service
/// did not finish answering, not that it refused; the rate limits, expired credentials and
/// every permanent code are refusals of a request that was not carried out.
pub(crate) fn maybe_applied(code: i64) -> bool {
    lookup(code).class == Retry
}

/// What [`lookup`] says a code the spec does not document means.
pub(crate) const UNDOCUMENTED: &str = "undocumented code";

/// True when the spec documents `code` (it is in the table).
pub(crate) fn is_documented(code: i64) -> bool {
    TABLE.binary_search_by_key(&code, |(c, _, _)| *c).is_ok()
}

/// Why a lane that got 10006 from create_group or import_group stops taking work.
pub const DAILY_GROUP_CAP: &str =
    "daily new-group cap reached — resumes tomorrow or after the cap is raised";

/// True when `code` from `api` is the app's daily net-new group cap (§7: 10006 "单日净增群量过多"
/// on create_group; whether import_group counts is unconfirmed, so it is treated alike). It
/// lifts the next day or when the plan's cap is raised, so retrying every few seconds is
/// pointless; elsewhere (import_group_member) 10006 is a frequency limit that a backoff clears.
pub(crate) fn is_daily_group_cap(api: Api, code: i64) -> bool {
    code == 10006 && matches!(api, Api::CreateGroup | Api::ImportGroup)
}

/// How long to wait at least before retrying after `code`, beyond normal backoff.
pub(crate) fn minimum_wait_secs(code: i64) -> u64 {
    // 70050: "retry after 1 minute" (§1.3).
    if code == 70050 {
        60
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn the_spec_retry_list_is_retryable() {
        // §1.3's recommendation, word for word.
        let retry = [
            60007, 60008, 60011, 60014, 60018, 60019, 70050, 70169, 70202, 70500, 10002, 10006,
            20004, 20005, 30006, 30007, 30008, 40006, 90992, 91000,
        ];
        for code in retry {
            assert!(lookup(code).class.is_retryable(), "{code}");
        }
        assert_eq!(lookup(70001).class, RenewCredentials);
        assert_eq!(minimum_wait_secs(70050), 60);
    }

    #[test]
    fn internal_and_timeout_codes_may_have_been_applied() {
        for code in [
            60008, 10002, 70169, 70202, 70500, 90992, 91000, 20004, 30007, 40006,
        ] {
            assert!(maybe_applied(code), "{code}");
        }
        for code in [60007, 70001, 70050, 10004, 90012, 70403, 12345] {
            assert!(!maybe_applied(code), "{code}");
        }
    }

    #[test]
    fn credentials_and_setup_stop_the_run() {
        for code in [
            60004, 60006, 60010, 60016, 70003, 70009, 70013, 70014, 70016, 70020, 70398, 70403,
        ] {
            assert_eq!(lookup(code).class, Fatal, "{code}");
        }
    }

    #[test]
    fn everything_else_is_permanent_for_the_item() {
        assert_eq!(lookup(90012).class, Item);
        let unknown = lookup(12345);
        assert_eq!(unknown.class, Item);
        assert!(!unknown.class.is_retryable());
        assert_eq!(unknown.meaning, "undocumented code");
        assert!(!is_documented(12345));
        assert!(is_documented(10002));
    }

    #[test]
    fn a_code_can_mean_something_more_precise_on_one_api() {
        let send_time = lookup_for(Api::ImportGroupMsg, 10004);
        assert!(
            send_time.meaning.starts_with("send time invalid"),
            "{send_time:?}"
        );
        assert_eq!(send_time.class, Item);
        assert_eq!(
            lookup_for(Api::ImportGroup, 10004).meaning,
            "invalid parameter"
        );
        assert_eq!(lookup(10004).meaning, "invalid parameter");
        for api in [Api::CreateGroup, Api::ImportGroup] {
            let cap = lookup_for(api, 10006);
            assert!(cap.meaning.contains("daily net-new group cap"), "{cap:?}");
            assert_eq!(cap.class, RateLimited);
        }
        let frequency = lookup_for(Api::ImportGroupMember, 10006);
        assert_eq!(frequency.meaning, "group operation frequency limit");
        assert_eq!(lookup_named("import_group_msg", 10004), send_time);
        assert_eq!(lookup_named("no_such_api", 10004), lookup(10004));
        assert_eq!(lookup_for(Api::ImportGroupMsg, 12345).meaning, UNDOCUMENTED);
    }

    #[test]
    fn ten_thousand_six_is_the_daily_cap_only_where_groups_are_made() {
        assert!(is_daily_group_cap(Api::CreateGroup, 10006));
        assert!(is_daily_group_cap(Api::ImportGroup, 10006));
        assert!(!is_daily_group_cap(Api::ImportGroupMember, 10006));
        assert!(!is_daily_group_cap(Api::ImportGroup, 10002));
    }
}
