//! Every standard policy's table of cases, run through its compiled
//! component by the real `memwarden policy test`; and the check that the
//! tables and the README cover every code each module declares.

use std::collections::BTreeSet;

use memwarden::policy::{builtin_module, codes};

use crate::util::{engine, memwarden, repo, run};

macro_rules! cases_test {
    ($ident:ident, $name:literal) => {
        #[test]
        fn $ident() {
            // INVARIANT: every standard policy ships a cases file; this
            // include fails the build when one is missing.
            const _CASES: &str = include_str!(concat!("../../guest-policies/", $name, "/cases.yaml"));
            let cases = repo().join("guest-policies").join($name).join("cases.yaml");
            let (output, stdout, stderr) = run(memwarden().args(["policy", "test"]).arg(&cases));
            assert!(output.status.success(), "{}:\n{stdout}{stderr}", $name);
            let last = stdout.lines().last().unwrap_or_default();
            assert!(last.ends_with(" passed, 0 failed") && !last.starts_with("0 "), "{last}");
        }
    };
}

mod cases {
    use super::*;
    memwarden::for_each_standard_policy!(cases_test);
}

/// Codes a cases file expects, from its `expect:` blocks.
fn expected_codes(cases_yaml: &str) -> BTreeSet<String> {
    let doc: serde_norway::Value = serde_norway::from_str(cases_yaml).expect("cases parse");
    let mut codes = BTreeSet::new();
    for case in doc["cases"].as_sequence().expect("cases list") {
        let expect = &case["expect"];
        let outcomes = expect["memory"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .chain(std::iter::once(expect["piece"].clone()));
        for outcome in outcomes {
            for code in outcome.as_sequence().into_iter().flatten() {
                // `hold:code` and `amend:code` name the verdict a code came with.
                let code = code.as_str().expect("code is a string");
                let code = code.strip_prefix("hold:").or_else(|| code.strip_prefix("amend:")).unwrap_or(code);
                codes.insert(code.to_string());
            }
        }
    }
    codes
}

macro_rules! coverage_test {
    ($ident:ident, $name:literal) => {
        #[test]
        fn $ident() {
            let module = engine().load(builtin_module($name).expect("built in")).expect("loads");
            let cases =
                std::fs::read_to_string(repo().join("guest-policies").join($name).join("cases.yaml")).expect("cases");
            let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
            let tested = expected_codes(&cases);
            for (code, _) in module.codes() {
                assert!(tested.contains(code), "no case of {} expects `{code}`", $name);
                assert!(
                    readme.contains(&format!("| `{code}` | {} |", $name)),
                    "README's code table lacks `{code}` of {}",
                    $name
                );
            }
            let declared: BTreeSet<&str> =
                module.codes().map(|(code, _)| code).chain(codes::ALL.iter().map(|(c, _)| *c)).collect();
            for code in &tested {
                assert!(
                    declared.contains(code.as_str()),
                    "cases of {} expect `{code}`, which neither the module nor the host declares",
                    $name
                );
            }
        }
    };
}

mod coverage {
    use super::*;
    memwarden::for_each_standard_policy!(coverage_test);
}

#[test]
fn readme_lists_every_host_code() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    for (code, _) in codes::ALL {
        assert!(readme.contains(&format!("| `{code}` | host |")), "README lacks host code `{code}`");
    }
}

/// The SDK's native case runner drops the host's own codes from `expect`;
/// its list must be the host's, `policy_error` aside (the runner produces
/// that one itself).
#[test]
fn the_native_case_runner_knows_every_host_code() {
    let host: BTreeSet<&str> =
        codes::ALL.iter().map(|(code, _)| *code).filter(|code| *code != codes::POLICY_ERROR).collect();
    let sdk: BTreeSet<&str> = memwarden_policy_sdk::cases::HOST_CODES.iter().copied().collect();
    assert_eq!(sdk, host);
}
