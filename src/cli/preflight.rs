//! Checks `dasp` makes before any work starts, each failure one line naming the fix: the AWS
//! configuration the KMS client will load (region, profile, endpoint URLs, credentials), and
//! `DASP_*` variables that nothing reads (a typo would silently change nothing).
//!
//! Pure: the environment, the shared AWS files and the platform signals are passed in.

use crate::config;

/// What the AWS configuration chain can see besides environment variables.
#[derive(Clone, Debug, Default)]
pub struct AwsFiles {
    /// Text of the shared config file (`AWS_CONFIG_FILE`, default `~/.aws/config`).
    pub config: Option<String>,
    /// Text of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
    /// `~/.aws/credentials`).
    pub credentials: Option<String>,
    /// The host looks like EC2 (instance metadata can provide region and credentials).
    pub on_ec2: bool,
}

/// Checks the AWS configuration the KMS client is about to load; `Err` is one line naming the
/// fix. `env` reads an environment variable (empty values count as unset).
pub fn check_aws(env: impl Fn(&str) -> Option<String>, files: &AwsFiles) -> Result<(), String> {
    let get = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

    for name in ["AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"] {
        if let Some(url) = get(name)
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!(
                "{name}={url:?} must start with http:// or https:// (e.g. http://127.0.0.1:5000)"
            ));
        }
    }

    let profile = get("AWS_PROFILE");
    let config_profile = |name: &str| {
        files.config.as_deref().and_then(|text| {
            let header = if name == "default" {
                "default".to_string()
            } else {
                format!("profile {name}")
            };
            section(text, &header).or_else(|| {
                (name == "default")
                    .then(|| section(text, "profile default"))
                    .flatten()
            })
        })
    };
    let credentials_profile = |name: &str| files.credentials.as_deref().and_then(|text| section(text, name));
    if let Some(name) = &profile
        && config_profile(name).is_none()
        && credentials_profile(name).is_none()
    {
        return Err(format!(
            "profile '{name}' not found in ~/.aws/config or ~/.aws/credentials: fix AWS_PROFILE \
             (`aws configure list-profiles` lists them)"
        ));
    }
    let profile_name = profile.as_deref().unwrap_or("default");

    let container = [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .any(|n| get(n).is_some());
    let region = get("AWS_REGION").is_some()
        || get("AWS_DEFAULT_REGION").is_some()
        || config_profile(profile_name).is_some_and(|s| setting(&s, "region").is_some());
    if !region && !files.on_ec2 {
        return Err(
            "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region)".to_string(),
        );
    }

    let (key_id, secret) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"));
    match (&key_id, &secret) {
        (Some(_), None) => {
            return Err(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither".to_string(),
            );
        }
        (None, Some(_)) => {
            return Err(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or neither".to_string(),
            );
        }
        _ => {}
    }
    let env_keys = key_id.is_some() && secret.is_some();
    let profile_known = config_profile(profile_name).is_some() || credentials_profile(profile_name).is_some();
    let web_identity = get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some();
    if !(env_keys || profile_known || web_identity || container || files.on_ec2) {
        return Err(
            "no AWS credentials: set AWS_PROFILE (a profile of ~/.aws/config, e.g. after \
                    `aws configure sso`) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                .to_string(),
        );
    }
    Ok(())
}

/// The lines of the INI section `[header]` (whitespace inside the brackets ignored), if present.
fn section(text: &str, header: &str) -> Option<String> {
    let wanted: Vec<&str> = header.split_whitespace().collect();
    let mut lines = text.lines();
    lines.find(|line| {
        let line = line.trim();
        line.strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
            .is_some_and(|inner| inner.split_whitespace().collect::<Vec<_>>() == wanted)
    })?;
    let body: Vec<&str> = lines
        .take_while(|line| !line.trim_start().starts_with('['))
        .collect();
    Some(body.join("\n"))
}

/// The value of `key = value` in a section's lines.
fn setting<'a>(section: &'a str, key: &str) -> Option<&'a str> {
    section.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim()).filter(|v| !v.is_empty())
    })
}

/// One warning per `DASP_*` name that no setting reads, with the closest known name when it is
/// at most two edits away.
pub fn unknown_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<&str> = names
        .into_iter()
        .filter(|n| n.starts_with("DASP_") && !config::VARIABLES.contains(n))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.into_iter()
        .map(|name| {
            let closest = config::VARIABLES
                .iter()
                .map(|known| (edit_distance(name, known), *known))
                .min()
                .filter(|(d, _)| *d <= 2);
            match closest {
                Some((_, known)) => format!("unknown variable {name} is ignored (did you mean {known}?)"),
                None => format!(
                    "unknown variable {name} is ignored (known: {})",
                    config::VARIABLES.join(", ")
                ),
            }
        })
        .collect()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        let mut next = Vec::with_capacity(row.len());
        next.push(left);
        for (cb, up) in b.iter().zip(row.iter().skip(1)) {
            let cost = diagonal + usize::from(ca != *cb);
            left = cost.min(up + 1).min(left + 1);
            next.push(left);
            diagonal = *up;
        }
        row = next;
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn check(vars: &[(&str, &str)], files: &AwsFiles) -> Result<(), String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        check_aws(|n| map.get(n).cloned(), files)
    }

    const KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")];

    #[test]
    fn accepts_region_and_keys_from_the_environment() {
        let mut vars = KEYS.to_vec();
        vars.push(("AWS_DEFAULT_REGION", "eu-west-1"));
        assert_eq!(check(&vars, &AwsFiles::default()), Ok(()));
    }

    #[test]
    fn asks_for_a_region_when_none_is_configured() {
        let err = check(&KEYS, &AwsFiles::default()).unwrap_err();
        assert!(err.contains("set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region)"));
    }

    #[test]
    fn takes_region_and_credentials_from_the_named_profile() {
        let files = AwsFiles {
            config: Some("[default]\noutput=json\n[profile  prod ]\nregion = eu-central-1\n".into()),
            credentials: None,
            on_ec2: false,
        };
        assert_eq!(check(&[("AWS_PROFILE", "prod")], &files), Ok(()));
        // the default profile has no region
        assert!(check(&[], &files).unwrap_err().contains("AWS_REGION"));
        assert_eq!(check(&[("AWS_REGION", "us-east-1")], &files), Ok(()));
    }

    #[test]
    fn names_a_profile_that_does_not_exist() {
        let files = AwsFiles {
            config: Some("[profile dev]\nregion=us-east-1\n".into()),
            credentials: Some("[staging]\naws_access_key_id=x\n".into()),
            on_ec2: false,
        };
        assert_eq!(
            check(&[("AWS_PROFILE", "staging"), ("AWS_REGION", "us-east-1")], &files),
            Ok(())
        );
        let err = check(&[("AWS_PROFILE", "x")], &files).unwrap_err();
        assert!(err.starts_with("profile 'x' not found"), "{err}");
    }

    #[test]
    fn rejects_endpoint_urls_without_a_scheme() {
        let mut vars = KEYS.to_vec();
        vars.push(("AWS_REGION", "us-east-1"));
        vars.push(("AWS_ENDPOINT_URL_KMS", "localhost:5000"));
        let err = check(&vars, &AwsFiles::default()).unwrap_err();
        assert!(
            err.contains("AWS_ENDPOINT_URL_KMS") && err.contains("http://"),
            "{err}"
        );
        vars.pop();
        vars.push(("AWS_ENDPOINT_URL", "https://kms.example"));
        assert_eq!(check(&vars, &AwsFiles::default()), Ok(()));
    }

    #[test]
    fn names_the_missing_half_of_environment_keys() {
        let err = check(
            &[("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "a")],
            &AwsFiles::default(),
        )
        .unwrap_err();
        assert!(
            err.starts_with("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"),
            "{err}"
        );
        let err = check(
            &[("AWS_REGION", "us-east-1"), ("AWS_SECRET_ACCESS_KEY", "b")],
            &AwsFiles::default(),
        )
        .unwrap_err();
        assert!(
            err.starts_with("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
            "{err}"
        );
    }

    #[test]
    fn reports_missing_credentials_unless_a_platform_provides_them() {
        let err = check(&[("AWS_REGION", "us-east-1")], &AwsFiles::default()).unwrap_err();
        assert!(err.starts_with("no AWS credentials"), "{err}");
        let vars = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x"),
        ];
        assert_eq!(check(&vars, &AwsFiles::default()), Ok(()));
        let ec2 = AwsFiles {
            on_ec2: true,
            ..AwsFiles::default()
        };
        assert_eq!(check(&[], &ec2), Ok(()));
    }

    #[test]
    fn warns_once_per_unknown_dasp_variable_with_the_closest_name() {
        let warnings = unknown_variables([
            "DASP_EXCLUDE_USERS",
            "DASP_EXCLUDE_USERS",
            "DASP_RESOURCE_ID",
            "DASP_SOMETHING_ELSE",
            "HOME",
        ]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("DASP_EXCLUDE_USERS")
                && warnings[0].contains("did you mean DASP_EXCLUDED_USERS?")
        );
        assert!(warnings[1].contains("DASP_SOMETHING_ELSE") && !warnings[1].contains("did you mean"));
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("abc", "abd"), 1);
        assert_eq!(edit_distance("ab", "abc"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
