//! What the synthetic records say: pools of Chinese, English and emoji text, names, places,
//! and message elements of every type. Every string here is well inside its byte limit.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

const ZH: &[&str] = &[
    "你好",
    "在吗？",
    "今天晚上一起吃饭吗",
    "收到，谢谢！",
    "我马上到",
    "这个周末有空吗？",
    "哈哈哈哈",
    "好的没问题",
    "明天见",
    "辛苦了",
    "下班了吗",
    "我在路上，堵车了",
    "文件已经发你邮箱了",
    "生日快乐！",
    "晚安",
    "请问这个怎么操作？",
    "会议改到下午三点",
    "刚看到消息",
    "稍等一下",
    "已转账，请查收",
];

const EN: &[&str] = &[
    "hi",
    "hello!",
    "are you there?",
    "see you tomorrow",
    "sounds good",
    "on my way",
    "thanks a lot",
    "lol",
    "can you send me the file?",
    "meeting moved to 3pm",
    "happy birthday!",
    "good night",
    "ok",
    "let me check",
    "running late, sorry",
    "did you see the news?",
    "where are you?",
    "nice one",
    "brb",
    "call me when you're free",
];

const EMOJI: &[&str] = &[
    "😀", "😂", "👍", "🙏", "❤️", "🎉", "😅", "🤔", "👋", "🔥", "😭", "🥳", "✅", "🍺", "☕", "🌙",
];

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "杰", "小明", "晓红",
];
const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoe",
];

/// Profile locations: at most 16 bytes each.
const LOCATIONS: &[&str] = &[
    "北京",
    "上海",
    "广州",
    "深圳",
    "杭州",
    "成都",
    "乌鲁木齐",
    "香港",
    "台北",
    "Singapore",
    "London",
    "New York",
    "Berlin",
    "Tokyo",
    "San Francisco",
    "Sydney",
];

const SIGNATURES: &[&str] = &[
    "生活不止眼前的苟且",
    "Stay hungry, stay foolish.",
    "今天也要加油鸭 💪",
    "busy, text me",
    "热爱生活，热爱代码",
    "🌊🏄",
    "Do what you love.",
    "不忘初心，方得始终",
    "",
];

/// Friend-list group names: a pool this small keeps every owner far under 32 groups.
const FRIEND_GROUPS: &[&str] = &[
    "Friends", "Family", "Work", "同学", "同事", "家人", "VIP", "球友",
];

/// Friend add sources: English letters only, at most 8 bytes.
const SOURCES: &[&str] = &[
    "Android", "iOS", "Web", "Search", "QRcode", "Group", "Contact", "Share",
];

const WORDINGS: &[&str] = &[
    "我是你同事小李",
    "Hi, we met at the conference",
    "朋友推荐的，加个好友吧",
    "from the hiking group",
    "你好，我是群里的",
];

/// Group name stems (at most 24 bytes, leaving room for a short suffix under 30).
const GROUP_STEMS: &[&str] = &[
    "读书会",
    "Chess club",
    "周末徒步群",
    "Team Rocket",
    "一起学Rust",
    "家族群",
    "Book swap",
    "产品讨论组",
    "Run club",
    "篮球爱好者",
    "Night owls",
    "摄影交流",
];

const INTRODUCTIONS: &[&str] = &[
    "欢迎新朋友，请先看群公告。",
    "A place to share what we are reading.",
    "每周六早上八点集合。",
    "Be kind. No spam.",
];

const NOTIFICATIONS: &[&str] = &[
    "本周活动改到周日，请互相转告。",
    "New rules: one post per day per person.",
    "群文件已更新，请及时下载。",
];

/// One item of a pool.
pub(crate) fn pick<'a>(rng: &mut ChaCha8Rng, pool: &[&'a str]) -> &'a str {
    pool[rng.gen_range(0..pool.len())]
}

/// A nickname: Chinese, English, sometimes with an emoji or a number.
pub(crate) fn nick(rng: &mut ChaCha8Rng) -> String {
    let mut s = if rng.gen_bool(0.55) {
        format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN))
    } else {
        pick(rng, FIRST).to_string()
    };
    match rng.gen_range(0..10) {
        0 => s.push_str(pick(rng, EMOJI)),
        1 => s.push_str(&rng.gen_range(1..100).to_string()),
        _ => {}
    }
    s
}

/// A profile location (≤ 16 bytes).
pub(crate) fn location(rng: &mut ChaCha8Rng) -> &'static str {
    pick(rng, LOCATIONS)
}

/// A profile signature.
pub(crate) fn signature(rng: &mut ChaCha8Rng) -> &'static str {
    pick(rng, SIGNATURES)
}

/// A friend remark (≤ 96 bytes).
pub(crate) fn remark(rng: &mut ChaCha8Rng) -> String {
    match rng.gen_range(0..3) {
        0 => format!("老{}", pick(rng, SURNAMES)),
        1 => format!("{} from work", pick(rng, FIRST)),
        _ => format!("同事-{}{}", pick(rng, SURNAMES), pick(rng, GIVEN)),
    }
}

/// 0 to 2 distinct friend-list groups.
pub(crate) fn friend_groups(rng: &mut ChaCha8Rng) -> Vec<String> {
    match rng.gen_range(0..10) {
        0..=4 => Vec::new(),
        5..=8 => vec![pick(rng, FRIEND_GROUPS).to_string()],
        _ => {
            let a = rng.gen_range(0..FRIEND_GROUPS.len());
            let b = (a + rng.gen_range(1..FRIEND_GROUPS.len())) % FRIEND_GROUPS.len();
            vec![FRIEND_GROUPS[a].to_string(), FRIEND_GROUPS[b].to_string()]
        }
    }
}

/// How a friendship started (letters only, ≤ 8 bytes).
pub(crate) fn source(rng: &mut ChaCha8Rng) -> &'static str {
    pick(rng, SOURCES)
}

/// A friend request wording.
pub(crate) fn wording(rng: &mut ChaCha8Rng) -> &'static str {
    pick(rng, WORDINGS)
}

/// A group name (≤ 30 bytes: a stem of at most 24 bytes and a suffix of at most 6).
pub(crate) fn group_name(rng: &mut ChaCha8Rng, g: u32) -> String {
    let stem = pick(rng, GROUP_STEMS);
    match rng.gen_range(0..3) {
        0 => stem.to_string(),
        1 => format!("{stem} {}", g % 1000),
        _ => format!("{stem}{}", pick(rng, EMOJI)),
    }
}

/// A group introduction (≤ 240 bytes).
pub(crate) fn introduction(rng: &mut ChaCha8Rng) -> &'static str {
    pick(rng, INTRODUCTIONS)
}

/// A group notification (≤ 300 bytes).
pub(crate) fn notification(rng: &mut ChaCha8Rng) -> &'static str {
    pick(rng, NOTIFICATIONS)
}

/// Message text: Chinese, English, emoji or a mix; now and then a long paragraph (still far
/// under the 12 KB message limit: at most 40 pieces of at most 60 bytes).
pub(crate) fn text(rng: &mut ChaCha8Rng) -> String {
    let pieces = if rng.gen_ratio(1, 100) {
        rng.gen_range(10..=40)
    } else {
        rng.gen_range(1..=3)
    };
    let mut s = String::with_capacity(pieces * 24);
    let style = rng.gen_range(0..100);
    for i in 0..pieces {
        let piece = match style {
            0..=44 => pick(rng, ZH),
            45..=74 => pick(rng, EN),
            75..=82 => pick(rng, EMOJI),
            _ => match rng.gen_range(0..3) {
                0 => pick(rng, ZH),
                1 => pick(rng, EN),
                _ => pick(rng, EMOJI),
            },
        };
        // Emoji runs stay together; other pieces are separated as their language does.
        if i > 0 && !(75..=82).contains(&style) {
            let ends_sentence = s.ends_with(['！', '？', '。', '!', '?', '.']);
            if piece.is_ascii() {
                s.push(' ');
            } else if !ends_sentence {
                s.push('，');
            }
        }
        s.push_str(piece);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::limits::*;
    use rand::SeedableRng;

    #[test]
    fn pools_respect_byte_limits() {
        assert!(LOCATIONS.iter().all(|l| l.len() <= LOCATION_MAX));
        assert!(FRIEND_GROUPS
            .iter()
            .all(|g| (1..=FRIEND_GROUP_NAME_MAX).contains(&g.len())));
        assert!(FRIEND_GROUPS.len() <= FRIEND_GROUPS_PER_OWNER_MAX);
        assert!(SOURCES
            .iter()
            .all(|s| crate::model::fields::is_letters_key(s, ADD_SOURCE_MAX)));
        assert!(WORDINGS.iter().all(|w| w.len() <= WORDING_MAX));
        // Group names: stem + " 999" or an emoji.
        assert!(GROUP_STEMS.iter().all(|s| s.len() <= 24));
        assert!(EMOJI.iter().all(|e| e.len() <= 6));
        assert!(INTRODUCTIONS
            .iter()
            .all(|s| s.len() <= GROUP_INTRODUCTION_MAX));
        assert!(NOTIFICATIONS
            .iter()
            .all(|s| s.len() <= GROUP_NOTIFICATION_MAX));
        let longest = ZH.iter().chain(EN).chain(EMOJI).map(|s| s.len()).max();
        assert!(longest <= Some(60));
    }

    #[test]
    fn generated_strings_fit() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for g in 0..2000 {
            assert!(group_name(&mut rng, g).len() <= GROUP_NAME_MAX);
            assert!(remark(&mut rng).len() <= REMARK_MAX);
            assert!(nick(&mut rng).len() <= PROFILE_STRING_MAX);
            assert!(text(&mut rng).len() <= 40 * 63);
        }
    }
}
