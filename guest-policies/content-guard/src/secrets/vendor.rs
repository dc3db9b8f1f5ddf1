//! Vendor credentials without a prefix of their own, recognised by the name
//! they are assigned to and the exact shape of the value: 32 hex digits
//! under `DD_API_KEY` are a Datadog API key, a UUID under `HEROKU_API_KEY`
//! a Heroku key. The name alone says little and the shape alone less.

use super::class::{self, ALNUM, BASE64, DOT, HEX, LOWER_ALNUM, PLUS, TILDE, URLSAFE};
use super::{placeholder, shapes, value};

/// What the value must look like.
#[derive(Clone, Copy)]
pub(super) enum Shape {
    /// Between `min` and `max` bytes of an alphabet.
    Run(u32, usize, usize),
    /// `8-4-4-4-12` hex.
    Uuid,
    /// `00` and 40 URL-safe characters.
    Okta,
    /// 32 hex, `-`, 8 hex, `-`, 8 hex.
    Mailgun,
}

pub(super) struct Bound {
    pub(super) kind: &'static str,
    /// Words of the name (between `_`), any of which names the vendor.
    pub(super) words: &'static [&'static [u8]],
    pub(super) shape: Shape,
}

const fn b(kind: &'static str, words: &'static [&'static [u8]], shape: Shape) -> Bound {
    Bound { kind, words, shape }
}

pub(super) const BOUND: &[Bound] = &[
    b("an AWS secret access key", &[b"aws", b"secret_access_key"], Shape::Run(BASE64, 40, 40)),
    b("an Alibaba Cloud AccessKey secret", &[b"alibaba", b"aliyun", b"access_key_secret"], Shape::Run(ALNUM, 30, 30)),
    b("a Datadog API key", &[b"datadog", b"dd"], Shape::Run(HEX, 32, 32)),
    b("a Datadog application key", &[b"datadog", b"dd"], Shape::Run(HEX, 40, 40)),
    b("a Twilio auth token", &[b"twilio"], Shape::Run(HEX, 32, 32)),
    b("a Heroku API key", &[b"heroku"], Shape::Uuid),
    b("an Okta API token", &[b"okta"], Shape::Okta),
    b("a Twitch OAuth token", &[b"twitch"], Shape::Run(LOWER_ALNUM, 30, 30)),
    b("a Mailgun API key", &[b"mailgun"], Shape::Mailgun),
    b("a Cloudflare API token", &[b"cloudflare", b"cf"], Shape::Run(URLSAFE, 40, 40)),
    b("a Cloudflare global API key", &[b"cloudflare", b"cf"], Shape::Run(HEX, 37, 37)),
    b("a Postmark server token", &[b"postmark"], Shape::Uuid),
    b("a Vercel access token", &[b"vercel"], Shape::Run(ALNUM, 24, 24)),
    b("an Algolia API key", &[b"algolia"], Shape::Run(HEX, 32, 32)),
    b("a Facebook app secret", &[b"facebook", b"fb"], Shape::Run(HEX, 32, 32)),
    b("a Cohere API key", &[b"cohere"], Shape::Run(ALNUM, 40, 40)),
    b("a Mistral API key", &[b"mistral"], Shape::Run(ALNUM, 32, 32)),
    b("a Fastly API token", &[b"fastly"], Shape::Run(URLSAFE, 32, 32)),
    b("a Slack signing secret", &[b"slack"], Shape::Run(HEX, 32, 32)),
    b("a GitHub OAuth client secret", &[b"github", b"gh"], Shape::Run(HEX, 40, 40)),
    b("a Linode API token", &[b"linode"], Shape::Run(HEX, 64, 64)),
    b("a Snyk API token", &[b"snyk"], Shape::Uuid),
    b("a PagerDuty API key", &[b"pagerduty", b"pd"], Shape::Run(URLSAFE | PLUS, 20, 20)),
    b("a Together AI API key", &[b"together"], Shape::Run(HEX, 64, 64)),
    b("an Azure client secret", &[b"azure"], Shape::Run(URLSAFE | TILDE | DOT, 34, 40)),
];

/// The vendor credential that `name` (normalised: lowercase, `_`
/// between words) and `value` together make, if any.
pub(super) fn bound(name: &[u8], value: &[u8]) -> Option<&'static str> {
    BOUND
        .iter()
        .filter(|bound| bound.words.iter().any(|word| has_word(name, word)))
        .find(|bound| fits(bound.shape, value))
        .map(|bound| bound.kind)
}

fn fits(shape: Shape, candidate: &[u8]) -> bool {
    let shaped = match shape {
        Shape::Run(alphabet, min, max) => {
            (min..=max).contains(&candidate.len())
                && candidate.iter().all(|&b| class::is(b, alphabet))
                && value::scrambled(candidate)
        }
        Shape::Uuid => shapes::is_uuid(candidate),
        Shape::Okta => {
            candidate.len() == 42
                && candidate.starts_with(b"00")
                && candidate.iter().all(|&b| class::is(b, URLSAFE))
                && value::scrambled(&candidate[2..])
        }
        Shape::Mailgun => {
            candidate.len() == 50
                && candidate
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| if i == 32 || i == 41 { b == b'-' } else { class::is(b, HEX) })
        }
    };
    shaped && !placeholder::is_placeholder(candidate)
}

/// Whether `word` occurs in `name` between `_` separators or the ends.
fn has_word(name: &[u8], word: &[u8]) -> bool {
    // The word start and the first byte tested before the whole window:
    // the window comparison is a `memcmp` call, otherwise made at every
    // offset of every name for every vendor (issue 11).
    name.windows(word.len()).enumerate().any(|(at, window)| {
        (at == 0 || name[at - 1] == b'_')
            && window[0] == word[0]
            && window == word
            && name.get(at + word.len()).is_none_or(|&next| next == b'_')
    })
}
