import Foundation
import GRDB

/// Server-side conversations in SQLite: every write is one transaction, the database runs in WAL
/// mode with `synchronous=FULL`, so a message acknowledged to a client survives the process being
/// killed (and the machine losing power).
public final class ConversationStore: Sendable {
    let db: DatabaseQueue

    /// One stored message of a conversation.
    public struct Message: Sendable, Equatable {
        /// `user` or `assistant` (the table refuses anything else).
        public var role: String
        /// The text of the message.
        public var content: String
        /// When the message was stored, in seconds since 1970.
        public var createdAt: Double
    }

    /// A conversation's metadata, without its messages.
    public struct Summary: Sendable {
        /// The conversation's id: `conv_` and 24 lowercase hex digits.
        public var id: String
        /// The title; an empty one becomes the first 60 characters of the first user message.
        public var title: String
        /// The conversation's system prompt (nil: the model template's default).
        public var system: String?
        /// When the conversation was created, in seconds since 1970.
        public var createdAt: Double
        /// When a message was last appended (or creation time), in seconds since 1970; `list` sorts by it.
        public var updatedAt: Double
        /// Messages stored in the conversation.
        public var messageCount: Int
    }

    /// Opens (creating if needed) the database at `path` (`:memory:` for a throwaway one).
    public init(path: String) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            if db.configuration.readonly == false {
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
        }
        if path == ":memory:" {
            db = try DatabaseQueue(configuration: config)
        } else {
            db = try DatabaseQueue(path: path, configuration: config)
            _ = try db.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA journal_mode = WAL") }
        }
        try db.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS conversations (
                        id TEXT PRIMARY KEY, title TEXT NOT NULL, system TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
                    CREATE TABLE IF NOT EXISTS messages (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL, created_at REAL NOT NULL);
                    CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
                    """)
        }
    }

    /// Creates an empty conversation in one transaction and returns its summary.
    public func create(title: String, system: String?) throws -> Summary {
        let id = "conv_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        let now = Date().timeIntervalSince1970
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO conversations (id, title, system, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [String(id), title, system, now, now])
        }
        return Summary(id: String(id), title: title, system: system, createdAt: now, updatedAt: now, messageCount: 0)
    }

    /// Every conversation's summary, most recently updated first.
    public func list() throws -> [Summary] {
        try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.id, c.title, c.system, c.created_at, c.updated_at, COUNT(m.id) AS n
                    FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
                    GROUP BY c.id ORDER BY c.updated_at DESC
                    """
            ).map {
                Summary(
                    id: $0["id"], title: $0["title"], system: $0["system"], createdAt: $0["created_at"], updatedAt: $0["updated_at"],
                    messageCount: $0["n"])
            }
        }
    }

    /// The conversation `id` and its messages, oldest first; nil when it does not exist.
    public func get(_ id: String) throws -> (Summary, [Message])? {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM conversations WHERE id = ?", arguments: [id]) else { return nil }
            let messages = try Row.fetchAll(
                db, sql: "SELECT role, content, created_at FROM messages WHERE conversation_id = ? ORDER BY id", arguments: [id]
            )
            .map { Message(role: $0["role"], content: $0["content"], createdAt: $0["created_at"]) }
            let summary = Summary(
                id: row["id"], title: row["title"], system: row["system"], createdAt: row["created_at"], updatedAt: row["updated_at"],
                messageCount: messages.count)
            return (summary, messages)
        }
    }

    /// Appends a message in one transaction; false when the conversation does not exist.
    @discardableResult
    public func append(_ id: String, role: String, content: String) throws -> Bool {
        let now = Date().timeIntervalSince1970
        return try db.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM conversations WHERE id = ?", arguments: [id]) == true else { return false }
            try db.execute(
                sql: "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)",
                arguments: [id, role, content, now])
            // The first user message names an untitled conversation.
            try db.execute(
                sql: """
                    UPDATE conversations SET updated_at = ?, title = CASE WHEN title = '' AND ? = 'user' THEN substr(?, 1, 60) ELSE title END WHERE id = ?
                    """, arguments: [now, role, content, id])
            return true
        }
    }

    /// Deletes a conversation and its messages; false when it did not exist.
    public func delete(_ id: String) throws -> Bool {
        try db.write { db in
            try db.execute(sql: "DELETE FROM messages WHERE conversation_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM conversations WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }
}
