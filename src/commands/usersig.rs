//! `cutover usersig`: generate a UserSig, or verify one and say what is wrong with it.

use crate::cli::UsersigArgs;
use crate::commands::Outcome;
use crate::tim::usersig::{generate, verify};
use crate::tim::{SecretKey, UserSig, SECRET_KEY_ENV};
use crate::timefmt::utc;
use std::io::{BufRead, Write};

/// The environment variable `usersig --verify` reads the token from (before standard input).
pub(crate) const USERSIG_ENV: &str = "CUTOVER_USERSIG";

/// The token to verify: `given` on the command line is refused (the process list shows it);
/// else [`USERSIG_ENV`] when set, else the first line of `input`.
pub(crate) fn token_to_verify(
    given: &str,
    env: Option<String>,
    input: &mut dyn BufRead,
) -> anyhow::Result<String> {
    if !given.is_empty() {
        anyhow::bail!(
            "a UserSig on the command line is visible in the process list: give --verify alone \
             and the token on standard input (echo \"$TOKEN\" | cutover usersig ... --verify) \
             or in {USERSIG_ENV}"
        );
    }
    if let Some(token) = env.filter(|t| !t.trim().is_empty()) {
        return Ok(token.trim().to_owned());
    }
    let mut line = String::new();
    input.read_line(&mut line)?;
    let token = line.trim();
    if token.is_empty() {
        anyhow::bail!("no token to verify: none on standard input and {USERSIG_ENV} is not set");
    }
    Ok(token.to_owned())
}

/// Runs `cutover usersig`: prints the token (generate) or the verdict (verify; exit 1 when the
/// token is refused).
pub(crate) fn run(args: &UsersigArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let Some(key) = SecretKey::from_env() else {
        anyhow::bail!(
            "{SECRET_KEY_ENV} is not set: export the app's secret key from the Tencent IM console \
             (it is never taken from a flag)"
        );
    };
    if args.identifier.is_empty() || args.identifier.len() > crate::model::limits::ACCOUNT_ID_MAX {
        anyhow::bail!("--identifier must be 1..=32 bytes");
    }
    let now = u64::try_from(crate::timefmt::now_secs()).unwrap_or(0);
    let Some(given) = &args.verify else {
        let sig = generate(&key, args.sdkappid, &args.identifier, args.expire, now);
        writeln!(out, "{}", sig.expose())?;
        return Ok(Outcome::Ok);
    };
    let env = std::env::var(USERSIG_ENV).ok();
    let token = token_to_verify(given, env, &mut std::io::stdin().lock())?;
    match verify(
        &key,
        &UserSig::new(token),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_environment_or_stdin_never_the_command_line() {
        let mut stdin = "from-stdin\n".as_bytes();
        let env = Some("from-env".to_string());
        assert_eq!(token_to_verify("", env, &mut stdin).unwrap(), "from-env");
        assert_eq!(token_to_verify("", None, &mut stdin).unwrap(), "from-stdin");
        let e = token_to_verify("eJw-secret", None, &mut "x\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("process list"), "{e}");
        assert!(!e.to_string().contains("eJw-secret"));
        let e = token_to_verify("", None, &mut "".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no token"), "{e}");
    }
}
