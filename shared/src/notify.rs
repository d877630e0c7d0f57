//! Notifications: every message Rota sends is a [`Message`] in an [`Envelope`]. Handlers put
//! envelopes on the notification queue ([`Outbox`]) only after their change is committed; the
//! notifier worker renders them ([`render`], in one place) and sends them through a channel.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::aws::LazyClient;
use crate::store::billing::OverdueInvoice;

/// One message to one recipient, with the id that makes its delivery idempotent (a redelivered
/// envelope is sent once). `to` empty: the person's own address, looked up when sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: String,
    /// The organisation it is sent for (charged to, recorded under); none before one exists.
    pub tenant_id: Option<String>,
    /// The recipient, when they are a person of the organisation (their opt-outs apply).
    pub person_id: Option<String>,
    pub to: String,
    pub message: Message,
    /// The broadcast it belongs to: its job (no person: the notifier fans it out) or one person's
    /// message on one channel (recorded as a line of the broadcast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast_id: Option<String>,
    /// Only this channel, none other instead (a broadcast goes on each channel by itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelKind>,
    /// It waits for the recipient's quiet hours to end (logged once, when it first did).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deferred: bool,
}

impl Envelope {
    /// A message to a person of the organisation, at their address as it is when it is sent.
    pub fn to_person(tenant_id: &str, person_id: &str, message: Message) -> Self {
        Self::new(Some(tenant_id), Some(person_id), "", message)
    }

    pub fn new(tenant_id: Option<&str>, person_id: Option<&str>, to: &str, message: Message) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            tenant_id: tenant_id.map(str::to_owned),
            person_id: person_id.map(str::to_owned),
            to: to.to_owned(),
            message,
            broadcast_id: None,
            channel: None,
            deferred: false,
        }
    }
}

/// A shift as a message names it: where, as what, and when on the location's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftSummary {
    pub shift_id: String,
    pub location: String,
    pub position: String,
    /// RFC 3339 with the location's offset.
    pub start_local: String,
    pub end_local: String,
    pub time_zone: String,
}

impl ShiftSummary {
    /// A stored shift as a message names it.
    pub fn of(shift: &crate::store::schedule::Shift) -> Self {
        Self {
            shift_id: shift.id.clone(),
            location: shift.location_name.clone(),
            position: shift.position_name.clone(),
            start_local: shift.start_local.clone(),
            end_local: shift.end_local.clone(),
            time_zone: shift.time_zone.clone(),
        }
    }

    /// "Thu 4 Jul 2030, 09:00–17:00 (Europe/London)"; the end's date too when it is another day.
    fn when(&self) -> String {
        let parse = |text: &str| chrono::DateTime::parse_from_rfc3339(text).ok();
        match (parse(&self.start_local), parse(&self.end_local)) {
            (Some(start), Some(end)) if start.date_naive() == end.date_naive() => {
                format!("{}–{} ({})", start.format("%a %-d %b %Y, %H:%M"), end.format("%H:%M"), self.time_zone)
            }
            (Some(start), Some(end)) => format!(
                "{} – {} ({})",
                start.format("%a %-d %b %Y, %H:%M"),
                end.format("%a %-d %b %Y, %H:%M"),
                self.time_zone
            ),
            _ => format!("{} – {} ({})", self.start_local, self.end_local, self.time_zone),
        }
    }

    fn line(&self) -> String {
        format!("{} at {}, {}.", self.position, self.location, self.when())
    }
}

/// What is said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// The link that finishes a sign-up (`{app}/verify-email?token=…`).
    SignupVerification {
        organisation: String,
        token: String,
        valid_hours: i64,
    },
    /// Someone tried to sign up with an email that already has an account.
    SignupAttempt,
    /// An admin added this person: the link sets their password (`{app}/accept-invitation?token=…`).
    /// No `token` when the address already has an account (with another organisation): the mail
    /// says so instead of carrying a link that could not work. The organisation's notification
    /// log shows an invitation either way, so it learns nothing of the address's account.
    Invitation {
        name: String,
        organisation: String,
        token: Option<String>,
        valid_hours: i64,
    },
    /// The link that sets a new password (`{app}/reset-password?token=…`).
    PasswordReset {
        token: String,
        valid_minutes: i64,
    },
    /// A coordinator's broadcast to everyone on site at `place` (`POST /broadcasts`); an urgent
    /// one ignores opt-outs.
    Broadcast {
        place: String,
        from: String,
        text: String,
        urgent: bool,
    },
    /// A one-time code to sign in with (`POST /auth/otp/verify`), sent to the phone it proves.
    SignInCode {
        code: String,
        valid_minutes: i64,
    },
    /// A coordinator put the person on a shift: accept or decline it.
    ShiftOffered {
        shift: ShiftSummary,
    },
    /// A shift the person is on was published, or its times changed, or it was cancelled.
    ShiftPublished {
        shift: ShiftSummary,
    },
    ShiftChanged {
        shift: ShiftSummary,
    },
    ShiftCancelled {
        shift: ShiftSummary,
    },
    /// A coordinator gave the person's place on a shift to someone else.
    ShiftReassigned {
        shift: ShiftSummary,
    },
    /// The person's shift starts soon (the organisation's `reminder_hours_before`).
    ShiftReminder {
        shift: ShiftSummary,
    },
    /// To a coordinator: who is near (90 %) or over their weekly cap in the week of `week` (its
    /// first day).
    HoursDigest {
        week: String,
        people: Vec<DigestLine>,
    },
    /// To the coordinator who offered a shift: the person's answer.
    AssignmentAnswered {
        shift: ShiftSummary,
        person: String,
        accepted: bool,
    },
    /// To a colleague: `from` offers them their place on a shift.
    SwapOffered {
        shift: ShiftSummary,
        from: String,
        request_id: String,
    },
    /// To the requester: `by` took their swap; a coordinator still has to approve it when
    /// `needs_approval`.
    SwapTaken {
        shift: ShiftSummary,
        by: String,
        needs_approval: bool,
    },
    /// To both sides of a request: it was approved or rejected by `by`.
    RequestDecided {
        subject: RequestSubject,
        approved: bool,
        by: String,
        note: Option<String>,
    },
    /// To the admin who started an import: it is done, or failed with errors to read.
    ImportFinished {
        import_id: String,
        filename: String,
        done: bool,
        rows: usize,
        errors: usize,
    },
    /// To the owners: the subscription's payment failed and is still overdue (`day` of it); the
    /// organisation is suspended on `suspends_on` (a date) unless it is paid.
    PaymentOverdue {
        organisation: String,
        day: i64,
        invoice: Option<OverdueInvoice>,
        suspends_on: String,
    },
    /// To the owners: the organisation is suspended because its payment stayed overdue; paying
    /// reactivates it.
    SuspendedForPayment {
        organisation: String,
        invoice: Option<OverdueInvoice>,
    },
    /// To whoever paid: what a one-off payment (an event's unlock) bought, for their records.
    Receipt {
        description: String,
        amount_minor: i64,
        currency: String,
        payment_id: String,
        paid_at: String,
    },
    /// A support ticket moved: to its requester when the operator wrote or changed its status
    /// (`to_platform` false), to the operator's admins when the organisation wrote (true).
    SupportTicket {
        tenant_id: String,
        ticket_id: String,
        subject: String,
        organisation: String,
        /// Who wrote (or changed it).
        author: String,
        status: crate::store::support::TicketStatus,
        /// The start of what they wrote; none for a change of status alone.
        excerpt: Option<String>,
        to_platform: bool,
    },
    /// To a person: Rota's support ended every session of theirs, and with `two_factor_reset`
    /// turned their two-factor authentication off (a lost phone, on their organisation's word).
    AccountSecured {
        two_factor_reset: bool,
    },
    /// To the owners: Rota stopped delivering to one of the organisation's webhook endpoints
    /// (it answered 410 Gone, or a message failed every retry); `PATCH` it `enabled` again.
    WebhookDisabled {
        endpoint_id: String,
        url: String,
        reason: String,
    },
}

/// One person of a weekly-hours digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestLine {
    pub name: String,
    /// Worked and still scheduled.
    pub total_minutes: i64,
    pub cap_hours: u32,
    pub over: bool,
}

/// What a decided request was about, as its message says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestSubject {
    /// Days off, and how many shifts approving them took the person off.
    TimeOff { from: String, to: String, released_shifts: usize },
    /// A shift handed from one person to another.
    Swap { shift: ShiftSummary, from: String, to: String },
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Sms => "sms",
            ChannelKind::Whatsapp => "whatsapp",
        }
    }
}

/// The ways a message reaches a person: a person lists theirs in the order they prefer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Sms,
    Whatsapp,
}

/// What a message costs in credits on each channel (`ROTA_MESSAGE_PRICES`, default
/// `email=1,sms=2,whatsapp=3`): an email, each SMS segment (see [`sms_segments`]), a WhatsApp
/// template message (charged as a conversation of its own). The plan's monthly messages count in
/// the same credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct MessagePrices {
    pub email: u32,
    /// Per segment of 153–160 characters (67–70 outside the GSM alphabet).
    pub sms: u32,
    pub whatsapp: u32,
}

impl Default for MessagePrices {
    fn default() -> Self {
        Self { email: 1, sms: 2, whatsapp: 3 }
    }
}

impl MessagePrices {
    /// `email=1,sms=2,whatsapp=3`; a channel left out keeps its default.
    pub fn parse(setting: &str) -> Result<Self, String> {
        let mut prices = Self::default();
        for pair in setting.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
            let invalid =
                || format!("ROTA_MESSAGE_PRICES: `{pair}` is not channel=credits (email, sms, whatsapp; 1 or more)");
            let (channel, credits) = pair.split_once('=').ok_or_else(invalid)?;
            let credits: u32 = credits.trim().parse().ok().filter(|credits| *credits >= 1).ok_or_else(invalid)?;
            match channel.trim() {
                "email" => prices.email = credits,
                "sms" => prices.sms = credits,
                "whatsapp" => prices.whatsapp = credits,
                _ => return Err(invalid()),
            }
        }
        Ok(prices)
    }

    /// The credits of `units` (SMS segments; one for the others) on `channel`.
    pub fn of(self, channel: ChannelKind, units: u32) -> i64 {
        let price = match channel {
            ChannelKind::Email => self.email,
            ChannelKind::Sms => self.sms,
            ChannelKind::Whatsapp => self.whatsapp,
        };
        i64::from(price) * i64::from(units.max(1))
    }
}

/// GSM 03.38's basic alphabet (one septet each) and its extension (two: an escape and the
/// character).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// The segments an SMS of `text` is sent (and billed) as: in the GSM alphabet 160 septets, or
/// 153 each when it takes several; with any other character, 70 UTF-16 units, or 67 each.
pub fn sms_segments(text: &str) -> u32 {
    let septets: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (length, single, each) = match septets {
        Some(septets) => (septets, 160, 153),
        None => (text.encode_utf16().count(), 70, 67),
    };
    let segments = if length <= single { 1 } else { length.div_ceil(each) };
    u32::try_from(segments).unwrap_or(u32::MAX)
}

/// The kinds of message, as opt-outs and the notification log name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    SignupVerification,
    SignupAttempt,
    Invitation,
    PasswordReset,
    SignInCode,
    Broadcast,
    ShiftOffered,
    ShiftPublished,
    ShiftChanged,
    ShiftCancelled,
    ShiftReassigned,
    ShiftReminder,
    HoursDigest,
    AssignmentAnswered,
    SwapOffered,
    SwapTaken,
    RequestDecided,
    ImportFinished,
    PaymentOverdue,
    SuspendedForPayment,
    Receipt,
    SupportTicket,
    WebhookDisabled,
    AccountSecured,
}

impl Message {
    /// An urgent broadcast: whatever the person opted out of, it goes.
    pub fn is_urgent(&self) -> bool {
        matches!(self, Message::Broadcast { urgent: true, .. })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Message::SignupVerification { .. } => Kind::SignupVerification,
            Message::SignupAttempt => Kind::SignupAttempt,
            Message::Invitation { .. } => Kind::Invitation,
            Message::PasswordReset { .. } => Kind::PasswordReset,
            Message::SignInCode { .. } => Kind::SignInCode,
            Message::Broadcast { .. } => Kind::Broadcast,
            Message::ShiftOffered { .. } => Kind::ShiftOffered,
            Message::ShiftPublished { .. } => Kind::ShiftPublished,
            Message::ShiftChanged { .. } => Kind::ShiftChanged,
            Message::ShiftCancelled { .. } => Kind::ShiftCancelled,
            Message::ShiftReassigned { .. } => Kind::ShiftReassigned,
            Message::ShiftReminder { .. } => Kind::ShiftReminder,
            Message::HoursDigest { .. } => Kind::HoursDigest,
            Message::AssignmentAnswered { .. } => Kind::AssignmentAnswered,
            Message::SwapOffered { .. } => Kind::SwapOffered,
            Message::SwapTaken { .. } => Kind::SwapTaken,
            Message::RequestDecided { .. } => Kind::RequestDecided,
            Message::ImportFinished { .. } => Kind::ImportFinished,
            Message::PaymentOverdue { .. } => Kind::PaymentOverdue,
            Message::SuspendedForPayment { .. } => Kind::SuspendedForPayment,
            Message::Receipt { .. } => Kind::Receipt,
            Message::SupportTicket { .. } => Kind::SupportTicket,
            Message::WebhookDisabled { .. } => Kind::WebhookDisabled,
            Message::AccountSecured { .. } => Kind::AccountSecured,
        }
    }
}

impl Kind {
    /// Account mail (sign-up, password reset, a sign-in code, an overdue payment, a receipt, a
    /// support ticket's news, a disabled webhook endpoint, Rota's support securing an account) is never charged and never
    /// opted out of: without it nobody could get in, or stay in. Everything else an organisation
    /// sends costs a credit.
    pub fn is_account_mail(self) -> bool {
        matches!(
            self,
            Kind::SignupVerification
                | Kind::SignupAttempt
                | Kind::PasswordReset
                | Kind::SignInCode
                | Kind::PaymentOverdue
                | Kind::SuspendedForPayment
                | Kind::Receipt
                | Kind::SupportTicket
                | Kind::WebhookDisabled
                | Kind::AccountSecured
        )
    }
}

/// A message ready for a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Subject, text and HTML of a message; links point into the frontend at `app_url`.
pub fn render(message: &Message, app_url: &str) -> Rendered {
    let app = app_url.trim_end_matches('/');
    let (subject, paragraphs, link): (String, Vec<String>, Option<String>) = match message {
        Message::SignupVerification { organisation, token, valid_hours } => (
            "Confirm your email to finish signing up".into(),
            vec![
                "Welcome to Rota.".into(),
                format!("To finish setting up {organisation}, confirm your email address:"),
                format!(
                    "The link works once, for {valid_hours} hours. If you did not sign up, ignore this email: \
                     nothing is created until the link is followed."
                ),
            ],
            Some(format!("{app}/verify-email?token={token}")),
        ),
        Message::SignupAttempt => (
            "Someone tried to sign up with your email".into(),
            vec![
                "Someone just tried to sign up for Rota with this email address, which already has an account. \
                 If it was you, log in instead:"
                    .into(),
                "If it was not, you can ignore this email: nothing has changed.".into(),
            ],
            Some(format!("{app}/login")),
        ),
        Message::Invitation { name, organisation, token: None, .. } => (
            format!("You are invited to join {organisation} on Rota"),
            vec![
                format!("Hello {name},"),
                format!(
                    "{organisation} invited this email address to Rota, but it already has a Rota account with \
                     another organisation, and an address belongs to one organisation only. To join \
                     {organisation}, give them another address. If you do not know them, ignore this email: \
                     nothing has changed."
                ),
            ],
            Some(format!("{app}/login")),
        ),
        Message::Invitation { name, organisation, token: Some(token), valid_hours } => (
            format!("You are invited to join {organisation} on Rota"),
            vec![
                format!("Hello {name},"),
                format!(
                    "you have been invited to join {organisation} on Rota. Choose your password here to get started:"
                ),
                format!("The link works once, for {valid_hours} hours."),
            ],
            Some(format!("{app}/accept-invitation?token={token}")),
        ),
        Message::PasswordReset { token, valid_minutes } => (
            "Reset your Rota password".into(),
            vec![
                "To choose a new password for Rota, follow this link:".into(),
                format!(
                    "It works once, for {valid_minutes} minutes, and logs you out everywhere. If you did not ask \
                     for it, ignore this email: your password stays as it is."
                ),
            ],
            Some(format!("{app}/reset-password?token={token}")),
        ),
        Message::Broadcast { place, from, text, urgent } => (
            if *urgent { format!("URGENT from {place}") } else { format!("Message from {place}") },
            vec![text.clone(), format!("Sent by {from} to everyone on shift at {place}.")],
            None,
        ),
        Message::SignInCode { code, valid_minutes } => (
            format!("{code} is your Rota code"),
            vec![format!(
                "Enter {code} to sign in to Rota. It works once, for {valid_minutes} minutes. Nobody from Rota will \
                 ask you for it; if you did not ask for it, ignore this message."
            )],
            None,
        ),
        Message::ShiftOffered { shift } => (
            "You have been offered a shift".into(),
            vec![shift.line(), "Accept or decline it in Rota:".into()],
            Some(format!("{app}/shifts/{}", shift.shift_id)),
        ),
        Message::ShiftPublished { shift } => (
            "Your shift is confirmed".into(),
            vec![shift.line(), "See it in Rota:".into()],
            Some(format!("{app}/shifts/{}", shift.shift_id)),
        ),
        Message::ShiftChanged { shift } => (
            "Your shift has changed".into(),
            vec![format!("Now: {}", shift.line()), "See it in Rota:".into()],
            Some(format!("{app}/shifts/{}", shift.shift_id)),
        ),
        Message::ShiftCancelled { shift } => (
            "Your shift is cancelled".into(),
            vec![format!("Cancelled: {}", shift.line()), "Your schedule in Rota:".into()],
            Some(format!("{app}/me/shifts")),
        ),
        Message::ShiftReassigned { shift } => (
            "You are no longer on a shift".into(),
            vec![
                format!("A coordinator gave your place to someone else: {}", shift.line()),
                "Your schedule in Rota:".into(),
            ],
            Some(format!("{app}/me/shifts")),
        ),
        Message::ShiftReminder { shift } => (
            "Your shift starts soon".into(),
            vec![format!("A reminder: {}", shift.line()), "The shift in Rota:".into()],
            Some(format!("{app}/shifts/{}", shift.shift_id)),
        ),
        Message::HoursDigest { week, people } => {
            let mut paragraphs = vec![format!("Weekly hours for the week of {week}: near (90 %) or over the cap.")];
            paragraphs.extend(people.iter().map(|line| {
                let (hours, minutes) = (line.total_minutes / 60, line.total_minutes % 60);
                let standing = if line.over { "over" } else { "near" };
                format!("{}: {hours} h {minutes:02} min of {} h ({standing})", line.name, line.cap_hours)
            }));
            paragraphs.push("The week's warnings in Rota:".into());
            (
                format!("Weekly hours: {} near or over the cap", people.len()),
                paragraphs,
                Some(format!("{app}/hours-warnings?week={week}")),
            )
        }
        Message::AssignmentAnswered { shift, person, accepted } => (
            format!("{person} {} a shift", if *accepted { "accepted" } else { "declined" }),
            vec![
                format!("{person} {} {}", if *accepted { "accepted" } else { "declined" }, shift.line()),
                "The shift in Rota:".into(),
            ],
            Some(format!("{app}/shifts/{}", shift.shift_id)),
        ),
        Message::SwapOffered { shift, from, request_id } => (
            format!("{from} offers you a shift"),
            vec![format!("{from} would like you to take their shift: {}", shift.line()), "Take it in Rota:".into()],
            Some(format!("{app}/requests/{request_id}")),
        ),
        Message::SwapTaken { shift, by, needs_approval } => (
            format!("{by} is taking your shift"),
            vec![
                format!("{by} took your swap of {}", shift.line()),
                if *needs_approval {
                    "A coordinator still has to approve it; until then the shift is yours. Your requests:".into()
                } else {
                    "The shift is theirs now. Your schedule:".into()
                },
            ],
            Some(if *needs_approval { format!("{app}/requests") } else { format!("{app}/me/shifts") }),
        ),
        Message::RequestDecided { subject, approved, by, note } => {
            let decided = if *approved { "approved" } else { "rejected" };
            let (subject_line, mut paragraphs) = match subject {
                RequestSubject::TimeOff { from, to, released_shifts } => {
                    let days = if from == to { from.clone() } else { format!("{from} to {to}") };
                    let mut paragraphs = vec![format!("Your time off {days} was {decided} by {by}.")];
                    if *approved && *released_shifts > 0 {
                        paragraphs.push(format!("You were taken off {released_shifts} shift(s) on those days."));
                    }
                    ("Time off".to_owned(), paragraphs)
                }
                RequestSubject::Swap { shift, from, to } => (
                    "Shift swap".to_owned(),
                    vec![format!("The swap of {} from {from} to {to} was {decided} by {by}.", shift.line())],
                ),
            };
            if let Some(note) = note {
                paragraphs.push(format!("Note: {note}"));
            }
            paragraphs.push("Your requests in Rota:".into());
            (format!("{subject_line} {decided}"), paragraphs, Some(format!("{app}/requests")))
        }
        Message::ImportFinished { import_id, filename, done: true, rows, .. } => (
            format!("Import finished: {filename}"),
            vec![format!("All {rows} rows of {filename} were imported."), "The import in Rota:".into()],
            Some(format!("{app}/imports/{import_id}")),
        ),
        Message::ImportFinished { import_id, filename, done: false, errors, .. } => (
            format!("Import failed: {filename}"),
            vec![
                format!("{filename} was not imported: nothing was written, because of {errors} error(s)."),
                "Each error names its row and column. Correct the file and import it again:".into(),
            ],
            Some(format!("{app}/imports/{import_id}")),
        ),
        Message::PaymentOverdue { organisation, day, invoice, suspends_on } => (
            format!("Payment overdue for {organisation} on Rota"),
            vec![
                format!(
                    "The payment of {}'s Rota subscription failed {} and is still overdue.",
                    organisation,
                    if *day == 1 { "today".to_owned() } else { format!("{} days ago", day - 1) }
                ),
                format!(
                    "Unless it is paid, {organisation} will be suspended on {suspends_on}: nobody will be able to \
                     log in until it is. Pay {} here (another card can be used):",
                    owed(invoice.as_ref())
                ),
            ],
            Some(pay_url(invoice.as_ref(), app)),
        ),
        Message::SuspendedForPayment { organisation, invoice } => (
            format!("{organisation} is suspended on Rota"),
            vec![
                format!(
                    "{organisation} is suspended because the payment of its Rota subscription stayed overdue: \
                     nobody can log in. Nothing is deleted."
                ),
                format!("Pay {} here and it is active again at once:", owed(invoice.as_ref())),
            ],
            Some(pay_url(invoice.as_ref(), app)),
        ),
        Message::Receipt { description, amount_minor, currency, payment_id, paid_at } => (
            format!("Receipt: {description}"),
            vec![
                format!(
                    "Paid {} on {} for {description} (payment {payment_id}).",
                    crate::domain::money::format(*amount_minor, currency),
                    paid_at.get(..10).unwrap_or(paid_at)
                ),
                "It is listed with the organisation's payments, and on its invoice for the period:".into(),
            ],
            Some(format!("{app}/billing")),
        ),
        Message::SupportTicket {
            tenant_id,
            ticket_id,
            subject,
            organisation,
            author,
            status,
            excerpt,
            to_platform,
        } => {
            let mut paragraphs = match excerpt {
                Some(excerpt) => vec![format!("{author} wrote"), format!("« {excerpt} »")],
                None => vec![format!("{author} marked it {}.", status.as_str())],
            };
            if *to_platform {
                paragraphs.push(format!("The ticket of {organisation} is {} now. Reply here:", status.as_str()));
                let link = format!("{app}/admin/support/tickets/{tenant_id}/{ticket_id}");
                (format!("[{organisation}] {subject}"), paragraphs, Some(link))
            } else {
                paragraphs
                    .push(format!("Your ticket is {} now. Read the whole thread or reply here:", status.as_str()));
                (format!("[Rota support] {subject}"), paragraphs, Some(format!("{app}/support/tickets/{ticket_id}")))
            }
        }
        Message::AccountSecured { two_factor_reset } => {
            let mut paragraphs = vec!["Rota's support signed you out on every device.".to_owned()];
            if *two_factor_reset {
                paragraphs.push(
                    "Your two-factor authentication was turned off too: set it up again with your new phone \
                     the next time you log in."
                        .into(),
                );
            }
            paragraphs.push(
                "Your organisation asked for this. If it was not you who asked, tell your organisation's \
                 admins and change your password here:"
                    .into(),
            );
            let subject = if *two_factor_reset {
                "Your two-factor authentication was reset"
            } else {
                "You were signed out everywhere"
            };
            (subject.into(), paragraphs, Some(format!("{app}/forgot-password")))
        }
        Message::WebhookDisabled { endpoint_id, url, reason } => (
            "A webhook endpoint was disabled".into(),
            vec![
                format!("Rota stopped sending events to {url}: {reason}."),
                "Events that happen while it is disabled are not sent to it. Once it answers again, \
                 turn it back on (PATCH it with enabled: true) and redeliver what it missed from its log:"
                    .into(),
            ],
            Some(format!("{app}/settings/webhooks/{endpoint_id}")),
        ),
    };
    // The link goes after the paragraph that leads to it (the one ending in a colon).
    let mut text = Vec::new();
    let mut html = Vec::new();
    for paragraph in &paragraphs {
        text.push(paragraph.clone());
        html.push(format!("<p>{}</p>", escape(paragraph)));
        if let (Some(link), true) = (&link, paragraph.ends_with(':')) {
            text.push(link.clone());
            html.push(format!("<p><a href=\"{0}\">{0}</a></p>", escape(link)));
        }
    }
    Rendered { subject, text: text.join("\n\n"), html: html.join("\n") }
}

/// What an overdue invoice asks for, as a sentence names it.
fn owed(invoice: Option<&OverdueInvoice>) -> String {
    invoice.map_or_else(
        || "what is owed".to_owned(),
        |invoice| crate::domain::money::format(invoice.amount_minor, &invoice.currency),
    )
}

/// Where an overdue invoice is paid: the provider's page for it, else the billing page.
fn pay_url(invoice: Option<&OverdueInvoice>, app: &str) -> String {
    invoice.and_then(|invoice| invoice.pay_url.clone()).unwrap_or_else(|| format!("{app}/billing"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The sending side of the notification queue (`ROTA_NOTIFICATION_QUEUE`, its URL).
#[derive(Clone)]
pub struct Outbox {
    client: LazyClient<aws_sdk_sqs::Client>,
    queue_url: String,
}

impl Outbox {
    pub fn new(client: LazyClient<aws_sdk_sqs::Client>, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// Its SQS client, for the function's other queues (an import's job).
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.client.get()
    }

    /// Queues envelopes ten to a request (SQS's batch), several requests at once. Call it after
    /// the change they report is committed.
    pub async fn send_all(&self, envelopes: &[Envelope]) -> Result<(), Error> {
        crate::queue::send_all(self.client.get(), &self.queue_url, envelopes).await
    }

    /// Queues one envelope. Call it after the change it reports is committed.
    pub async fn send(&self, envelope: &Envelope) -> Result<(), Error> {
        crate::queue::send(self.client.get(), &self.queue_url, envelope).await
    }

    /// Queues a webhook message (see [`crate::webhooks::Job`]). Call it after the change it reports
    /// is committed.
    pub async fn webhook(&self, job: crate::webhooks::Job) -> Result<(), Error> {
        crate::queue::send(self.client.get(), &self.queue_url, &crate::webhooks::Queued { webhook: job }).await
    }

    /// [`Outbox::webhook`], when the organisation (as the request read it) has an endpoint: the
    /// busy paths (check-ins) cost nothing more for the many without.
    pub async fn webhook_for(
        &self,
        tenant: &crate::store::tenants::Tenant,
        job: crate::webhooks::Job,
    ) -> Result<(), Error> {
        if tenant.webhook_endpoints == 0 {
            return Ok(());
        }
        self.webhook(job).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_segments_follow_the_gsm_alphabet_or_ucs2() {
        assert_eq!(sms_segments(""), 1);
        assert_eq!(sms_segments(&"a".repeat(160)), 1);
        assert_eq!(sms_segments(&"a".repeat(161)), 2, "153 a segment once it takes several");
        assert_eq!(sms_segments(&"a".repeat(306)), 2);
        assert_eq!(sms_segments(&"a".repeat(307)), 3);
        assert_eq!(sms_segments(&"€".repeat(80)), 1, "an extension character takes two septets");
        assert_eq!(sms_segments(&"€".repeat(81)), 2);
        assert_eq!(sms_segments(&"é".repeat(160)), 1, "é is in the GSM alphabet");
        assert_eq!(sms_segments(&format!("{}…", "a".repeat(69))), 1, "… is not: 70 UTF-16 units");
        assert_eq!(sms_segments(&format!("{}…", "a".repeat(70))), 2);
        assert_eq!(sms_segments(&"😀".repeat(35)), 1, "an emoji is two UTF-16 units");
        assert_eq!(sms_segments(&"😀".repeat(36)), 2);
    }

    #[test]
    fn message_prices_are_read_per_channel() {
        assert_eq!(MessagePrices::parse("").unwrap(), MessagePrices::default());
        let prices = MessagePrices::parse("sms=5, whatsapp=4").unwrap();
        assert_eq!((prices.email, prices.sms, prices.whatsapp), (1, 5, 4));
        assert_eq!(prices.of(ChannelKind::Sms, 3), 15);
        assert_eq!(prices.of(ChannelKind::Whatsapp, 0), 4, "at least one unit");
        for wrong in ["sms", "sms=0", "fax=1", "email=-1", "email=x"] {
            let error = MessagePrices::parse(wrong).unwrap_err();
            assert!(error.contains(wrong), "{error}");
        }
    }

    #[test]
    fn a_rendered_message_carries_its_link_in_text_and_html() {
        let message = Message::Invitation {
            name: "Ivy <3".into(),
            organisation: "Harbour & Co".into(),
            token: Some("abc".into()),
            valid_hours: 72,
        };
        let rendered = render(&message, "https://app.example/");
        assert_eq!(rendered.subject, "You are invited to join Harbour & Co on Rota");
        assert!(rendered.text.contains("https://app.example/accept-invitation?token=abc\n\nThe link works once"));
        assert!(rendered.html.contains("<a href=\"https://app.example/accept-invitation?token=abc\">"));
        assert!(rendered.html.contains("Hello Ivy &lt;3,") && rendered.html.contains("Harbour &amp; Co"));
    }

    #[test]
    fn an_overdue_payment_says_how_much_until_when_and_where_to_pay() {
        let invoice = OverdueInvoice {
            invoice_id: "in_1".into(),
            amount_minor: 2900,
            currency: "EUR".into(),
            pay_url: Some("https://pay.example/in_1".into()),
        };
        let message = Message::PaymentOverdue {
            organisation: "Harbour".into(),
            day: 3,
            invoice: Some(invoice),
            suspends_on: "2027-03-15".into(),
        };
        let rendered = render(&message, "https://app.example");
        assert_eq!(rendered.subject, "Payment overdue for Harbour on Rota");
        assert!(rendered.text.contains("failed 2 days ago"), "{}", rendered.text);
        assert!(rendered.text.contains("suspended on 2027-03-15"), "{}", rendered.text);
        assert!(rendered.text.contains("Pay EUR 29.00 here (another card can be used):\n\nhttps://pay.example/in_1"));
        let suspended = render(
            &Message::SuspendedForPayment { organisation: "Harbour".into(), invoice: None },
            "https://app.example",
        );
        assert!(
            suspended
                .text
                .contains("Pay what is owed here and it is active again at once:\n\nhttps://app.example/billing")
        );
    }

    #[test]
    fn an_invitation_to_an_address_with_an_account_carries_no_link() {
        let message =
            Message::Invitation { name: "Ivy".into(), organisation: "Harbour".into(), token: None, valid_hours: 72 };
        let rendered = render(&message, "https://app.example");
        assert_eq!(rendered.subject, "You are invited to join Harbour on Rota", "the same subject either way");
        assert!(
            rendered.text.contains("already has a Rota account") && !rendered.text.contains("token="),
            "{}",
            rendered.text
        );
    }

    #[test]
    fn a_digest_lists_each_person_against_their_cap() {
        let line =
            |name: &str, total_minutes, over| DigestLine { name: name.into(), total_minutes, cap_hours: 40, over };
        let message = Message::HoursDigest {
            week: "2030-07-01".into(),
            people: vec![line("Ann", 2465, true), line("Bo", 2170, false)],
        };
        let rendered = render(&message, "https://app.example");
        assert_eq!(rendered.subject, "Weekly hours: 2 near or over the cap");
        assert!(rendered.text.contains("Ann: 41 h 05 min of 40 h (over)"), "{}", rendered.text);
        assert!(rendered.text.contains("Bo: 36 h 10 min of 40 h (near)"), "{}", rendered.text);
        assert_eq!(message.kind(), Kind::HoursDigest);
    }

    #[test]
    fn envelopes_travel_as_tagged_json() {
        let envelope = Envelope::new(Some("t"), None, "a@b.c", Message::SignupAttempt);
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["message"]["kind"], "signup_attempt");
        assert_eq!(serde_json::from_value::<Envelope>(json).unwrap(), envelope);
    }

    #[test]
    fn account_mail_is_free_and_kept() {
        assert!(Kind::PasswordReset.is_account_mail() && Kind::SignupVerification.is_account_mail());
        assert!(!Kind::Invitation.is_account_mail());
        assert!(Kind::PaymentOverdue.is_account_mail() && Kind::SuspendedForPayment.is_account_mail());
    }
}
