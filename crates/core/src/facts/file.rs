//! What the analyzers establish about one file, as plain data: the `FileFact`s attached to
//! each entry of a layer. The analyzers that write them are `crate::analyze` (and the malware
//! engines, in `edgecert-engine`); their parsing and naming methods are implemented there, next
//! to the code that finds them.

use serde::{Deserialize, Serialize};

/// What an analyzer established about a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum FileFact {
    Elf(ElfInfo),
    /// A `#!` script: interpreter path and optional single argument.
    Script {
        interpreter: String,
        arg: Option<String>,
    },
    /// A malware engine detected something (EC807).
    Malware(Detection),
    /// An engine could not look at (part of) the file: size limits, clamd errors.
    Unscanned {
        engine: String,
        reason: String,
    },
    /// A secret (EC806): kind, offset and a redacted hint, never the secret.
    Secret(SecretFact),
    /// A third-party component this file declares (EC903, SBOM).
    Component(Component),
    /// `os-release`: the distribution packages come from (package URLs).
    OsRelease(OsRelease),
    /// An Azure IoT SDK fingerprint (EC702): `c`, `csharp`, `python-v2`, `python-v1`, `node`,
    /// `java`, and what revealed it.
    Sdk {
        sdk: String,
        evidence: String,
    },
    /// The file contains the offer's module identifier (EC701).
    Identifier {
        identifier: String,
    },
    /// A package database lists these files as installed by one package (EC806, SBOM).
    Owned(PackageFiles),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElfInfo {
    /// 32 or 64.
    pub class: u8,
    pub little_endian: bool,
    /// `e_type`: 2 executable, 3 shared object / PIE.
    pub file_type: u16,
    pub machine: u16,
    pub flags: u32,
}

/// A detection by one engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// `yara-x`, `clamav`, `sha256-blocklist`.
    pub engine: String,
    /// Rule or signature name.
    pub rule: String,
    /// The archive member (`lib/x.jar!a/b.class`), when inside an archive.
    pub member: Option<String>,
}

/// A secret found in a file (or a config string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretFact {
    pub secret: SecretKind,
    /// Byte offset of the secret (or of its PEM BEGIN line) in the file.
    pub offset: u64,
    /// Redacted: never the secret itself.
    pub hint: String,
    /// The name of a key its owner publishes (a test or emulator key): information only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<String>,
}

/// What kind of secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretKind {
    /// `HostName=…;DeviceId=…;SharedAccessKey=…` (device or module identity).
    IotHubDeviceConnectionString,
    /// `HostName=…;SharedAccessKeyName=…;SharedAccessKey=…` (a hub's shared access policy).
    IotHubConnectionString,
    /// `Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…` (Event Hubs, Service Bus).
    ServiceBusConnectionString,
    /// `SharedAccessKey=…` outside a recognisable connection string.
    SharedAccessKey,
    /// `SharedAccessSignature sr=…&sig=…`.
    SasToken,
    /// Azure Storage SAS query string (`sv=…&sig=…`).
    StorageSasToken,
    /// `AccountKey=` with an 88-character storage account key.
    StorageAccountKey,
    /// A PEM (or OpenSSH, PGP) private key with a body.
    PrivateKey,
    AwsAccessKeyId,
    /// An AWS access key id with its secret access key next to it.
    AwsAccessKeyPair,
    AwsSecretAccessKey,
    GitHubToken,
    SlackToken,
    SlackWebhook,
    GoogleApiKey,
    StripeLiveKey,
    GitLabToken,
    /// A password or token in a variable named for one (`DB_PASSWORD=…`), config env only.
    CredentialInEnv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Deb,
    Apk,
    Pypi,
    Npm,
    Maven,
    Nuget,
    Golang,
}

/// One component as a file declares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub ecosystem: Ecosystem,
    /// Maven groupId, npm scope (`@scope`); Go module paths stay whole in `name`.
    pub group: Option<String>,
    pub name: String,
    pub version: Option<String>,
    /// Package architecture (deb, apk).
    pub arch: Option<String>,
    /// Declared licenses, as written (apk `L:`, npm `license`, Python `License-Expression`).
    pub licenses: Vec<String>,
    /// The archive member it was read from (`META-INF/maven/g/a/pom.properties` in a jar).
    pub member: Option<String>,
}

/// `etc/os-release`: which distribution the image's packages come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsRelease {
    pub id: String,
    pub version_id: Option<String>,
}

/// The package manager that installed a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Dpkg,
    Apk,
}

/// Files one package installed, as its database lists them (relative, no leading `/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageFiles {
    pub manager: Manager,
    pub package: String,
    pub paths: Vec<String>,
}
