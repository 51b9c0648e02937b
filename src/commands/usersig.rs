//! `cutover usersig`: generate a UserSig, or verify one and say what is wrong with it.

use crate::cli::UsersigArgs;
use crate::commands::Outcome;
use crate::tim::usersig::{generate, verify};
use crate::tim::{SecretKey, UserSig, SECRET_KEY_ENV};
use crate::timefmt::utc;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `cutover usersig`: prints the token (generate) or the verdict (verify; exit 1 when the
/// token is refused).
pub fn run(args: &UsersigArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let Some(key) = SecretKey::from_env() else {
        anyhow::bail!(
            "{SECRET_KEY_ENV} is not set: export the app's secret key from the Tencent IM console \
             (it is never taken from a flag)"
        );
    };
    if args.identifier.is_empty() || args.identifier.len() > crate::model::limits::ACCOUNT_ID_MAX {
        anyhow::bail!("--identifier must be 1..=32 bytes");
    }
    let now = now();
    let Some(token) = &args.verify else {
        let sig = generate(&key, args.sdkappid, &args.identifier, args.expire, now);
        writeln!(out, "{}", sig.expose())?;
        return Ok(Outcome::Ok);
    };
    match verify(
        &key,
        &UserSig::new(token.clone()),
        args.sdkappid,
        &args.identifier,
        now,
    ) {
        Ok(info) => {
            let left_days = info.expires_at().saturating_sub(now) / 86_400;
            writeln!(
                out,
                "valid: identifier {:?}, sdkappid {}, issued {}, expires {} (in {left_days} days)",
                info.identifier,
                info.sdkappid,
                utc(i64::try_from(info.time).unwrap_or(i64::MAX)),
                utc(i64::try_from(info.expires_at()).unwrap_or(i64::MAX)),
            )?;
            Ok(Outcome::Ok)
        }
        Err(e) => {
            writeln!(out, "refused ({}): {e}", e.tim_code())?;
            Ok(Outcome::Problems)
        }
    }
}
