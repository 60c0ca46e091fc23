/// How the email trigger watches its folders.
package struct EmailTriggerSettings: Sendable {
    package enum Mode: String, Sendable {
        /// IMAP IDLE when the server offers it, polling otherwise.
        case auto
        /// Always poll (`EMAIL_TRIGGER_MODE=poll`).
        case poll
    }

    package var mode = Mode.auto
    /// `EMAIL_POLL_SECONDS`: how often a polling trigger looks for new mail.
    package var pollInterval: Duration = .seconds(60)
    /// How long one IDLE lasts before the folder is selected again and IDLE renewed (servers end
    /// idlers after 30 minutes, and an idler is not told when its folder is made anew).
    package var idleRenewal: Duration = .seconds(5 * 60)
    /// Back-off after a failure: `backoffBase` doubled per consecutive failure, at most `backoffMax`.
    package var backoffBase: Duration = .seconds(5)
    package var backoffMax: Duration = .seconds(15 * 60)
    /// How often the list of triggered connectors is read again when nothing signals a change
    /// (another replica's edits).
    package var rescanInterval: Duration = .seconds(30)
    /// Each server's connect and command deadlines.
    package var connectTimeout: Duration = .seconds(15)
    package var commandTimeout: Duration = .seconds(60)
    /// The most messages one pass starts runs for (the rest wait for the next pass).
    package var batchLimit = 100
    /// The most characters of a message's text that go into the run's input.
    package var maxBodyCharacters = 20_000

    package init() {}
}
