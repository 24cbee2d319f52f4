import Testing
@testable import TensorWireServer

/// Token files (named and bare lines) and the HELLO token check.
@Suite struct AuthTokenTests {
    private func refusal(_ text: String) -> String {
        do {
            let parsed = try AuthTokenFile(parsing: text)
            Issue.record("accepted as \(parsed)")
            return ""
        } catch {
            return error.description
        }
    }

    @Test func namedAndBareLinesCommentsAndCRLF() throws {
        let file = try AuthTokenFile(parsing: "# desk tokens\r\ncredit-batch:tok-1\r\n\r\n  fraud.stream : tok-2  \nlegacy-token\n#x:y\n")
        #expect(file.named == ["credit-batch": "tok-1", "fraud.stream": "tok-2"])
        #expect(file.unnamed == ["legacy-token"])
    }

    @Test func aTokenMayContainColonsAfterItsName() throws {
        #expect(try AuthTokenFile(parsing: "legacy:abc:def=\n").named == ["legacy": "abc:def="])
    }

    @Test func malformedLinesNameTheLineButNeverTheToken() {
        for (text, expected) in [
            ("ok:tok\nbad name:s3cret\n", "line 2"), ("a/b:s3cret", "line 1"), (":s3cret", "line 1"),
            ("x:s3cret\nx:s3cret-2", "line 2: the token name is used twice"), ("s3cret\ns3cret", "twice"), ("s3cret:", "no token"),
            (String(repeating: "n", count: 65) + ":s3cret", "line 1"),
        ] {
            let message = refusal(text)
            #expect(message.contains(expected), "\(message)")
            #expect(!message.contains("s3cret"), "\(message)")
        }
        #expect(refusal("# only comments\n\n").contains("no tokens"))
    }

    @Test func namedTokensIdentifyTheCaller() throws {
        let tokens = try TokenAuthenticator(unnamed: ["bare"], named: ["credit-batch": "tok-credit", "fraud": "tok-fraud"])
        #expect(tokens.authenticate("tok-credit") == .accepted(name: "credit-batch"))
        #expect(tokens.authenticate("tok-fraud") == .accepted(name: "fraud"))
        #expect(tokens.authenticate("bare") == .accepted(name: nil))
        #expect(tokens.authenticate("") == .missing)
        for wrong in ["tok-credi", "tok-credit ", "tok-creditx", "TOK-CREDIT", "credit-batch", "credit-batch:tok-credit", "bar"] {
            #expect(tokens.authenticate(wrong) == .rejected, "\(wrong)")
        }
        #expect(tokens.names == ["credit-batch", "fraud"])
        #expect(try TokenAuthenticator(unnamed: [], named: [:]).authenticate("anything") == .notRequired)
    }

    @Test func ambiguousOrInvalidTokenSetsAreRefused() {
        #expect(throws: ServerError.self) { try TokenAuthenticator(unnamed: [], named: ["a": "same", "b": "same"]) }
        #expect(throws: ServerError.self) { try TokenAuthenticator(unnamed: ["same"], named: ["a": "same"]) }
        #expect(throws: ServerError.self) { try TokenAuthenticator(unnamed: [], named: ["bad name": "t"]) }
        #expect(throws: ServerError.self) { try TokenAuthenticator(unnamed: [""], named: [:]) }
        #expect(throws: ServerError.self) { try TokenAuthenticator(unnamed: [String(repeating: "t", count: 4097)], named: [:]) }
        do {
            _ = try TokenAuthenticator(unnamed: [], named: ["a": "s3cret", "b": "s3cret"])
        } catch {
            #expect(!error.description.contains("s3cret"))
        }
    }

    @Test func constantTimeEqualityIsEquality() {
        let cases: [([UInt8], [UInt8], Bool)] = [
            ([], [], true), ([1, 2, 3], [1, 2, 3], true), ([1, 2, 3], [1, 2, 4], false), ([1, 2, 3], [1, 2], false),
            ([1, 2], [1, 2, 3], false), ([], [0], false), ([0], [], false), ([9, 2, 3], [1, 2, 3], false),
        ]
        for (a, b, equal) in cases { #expect(TokenAuthenticator.constantTimeEqual(a, b) == equal, "\(a) \(b)") }
    }
}
