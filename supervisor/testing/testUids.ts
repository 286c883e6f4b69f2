/**
 * Where the tests' uids live. Test files run two at a time here (vitest.config.ts) and beside other
 * people's runs on a shared machine, so a uid two files use at once gives one file's cage, proxy or
 * part the other's processes and files. None lies where systemd hands uids out at run time
 * (DynamicUser= 61184–65519, systemd-homed 60001–60513: SYSTEMD_ALLOCATED_UIDS), which the policy
 * now refuses for a cage or a card proxy (policy/cageDynamicUids.attack.test.ts): on a developer's
 * systemd host a service could hold such a uid while a test kills or chowns as it.
 *
 * Chosen: below 60000, the top of the "regular users" range (systemd's docs/UIDS-GIDS.md: adduser
 * and useradd allocate from 1000 upward, so 45000–59999 is empty on a workstation or CI host), not
 * systemd's unused window 60578–61183: that window holds the product's own defaults (cages 61000 +
 * position, card proxies 61100 + position, run by `npm start` on the same machine) and the tests
 * that check them, and is 606 ids, fewer than the per-process blocks below take.
 *
 * testUids.test.ts reads every test file and fails when two files can claim the same uid, or one
 * claims a uid systemd hands out. It sees a uid written as a five-digit literal in FIXED (write those
 * without a digit separator), a block `BASE + (process.pid % N) * STRIDE` anywhere, and `NAME + k`
 * of a constant holding either.
 *
 * | uids        | owner (supervisor/ unless said)                                                      |
 * |-------------|--------------------------------------------------------------------------------------|
 * | 45000–48519 | testing/realCage.ts startRealCage: 4 per test process (pid % 880)                    |
 * | 49000–49999 | testing/orphanCage.ts startOrphanCage: 2 per test process (pid % 500)                |
 * | 50000–50099 | smartcard/proxyFolderRace.attack.test.ts PROXY_UID                                   |
 * | 50100–50199 | smartcard/proxySocketLink.attack.test.ts PROXY_UID                                   |
 * | 50200–50399 | smartcard/staleProcessGroup.attack.test.ts PROXY_UID, VICTIM_UID                     |
 * | 50400–50499 | smartcard/cardListingShell.attack.test.ts PROXY_UID                                  |
 * | 50500–50599 | cages/homeMigrateRace.attack.test.ts CAGE_UID                                        |
 * | 50600–50699 | smartcard/proxySocketConnect.test.ts PROXY_UID                                       |
 * | 50700–50799 | cages/vncSocketLink.attack.test.ts CAGE_UID                                          |
 * | 50800–50999 | system/ownedFolders.test.ts OLD_UID, OTHER_GID                                       |
 * | 51000–51199 | smartcard/proxyProcessGroup.test.ts PROXY_UID, OTHER_UID                             |
 * | 51200–51299 | smartcard/cardPresence.test.ts UID                                                   |
 * | 51300–51449 | cageManager/cageCardFolder.test.ts PART, CAGE = PART + 100                           |
 * | 51500–51699 | smartcard/opensslPreinit.test.ts PROXY_UID, OTHER_UID                                |
 * | 51700–51799 | smartcard/proxyFolderJam.attack.test.ts PROXY_UID                                    |
 * | 51800–51899 | smartcard/workerPrefault.test.ts PROXY_UID                                           |
 * | 51900–51989 | policy/cardProxyNamelessAccount.attack.test.ts UID (a name service entry's only)     |
 * | 52000–52099 | smartcard/smartcardRace.test.ts PROXY_UID                                            |
 * | 52100–52299 | smartcard/smartcardReload.test.ts PROXY_UID, PROXY_UID + 100                         |
 * | 52300–52499 | smartcard/smartcardSupervisor.test.ts PROXY_UID, PROXY_UID + 100                     |
 * | 52500–52599 | smartcard/trustedPinSupervisor.test.ts PROXY_UID                                     |
 * | 52600–52699 | browserPart/partFolderRace.attack.test.ts PART_UID                                   |
 * | 52850–52899 | cageManager/managerCardEndpoints.test.ts PART, CAGE = PART + 25                      |
 * | 53000–53499 | smartcard/smartcard.test.ts PROXY_UID                                                |
 * | 53500–53899 | smartcard/trustedPin.test.ts PROXY_UID                                               |
 * | 54000–54999 | cageManager card tests, BASE (proxy) + 2, + 3 (cages) each: cardPolicyReload,        |
 * |             | cardListingFails, cardThroughManager, cardPresenceThroughManager, cardPresence, in   |
 * |             | that order, 200 each                                                                 |
 * | 55000–55399 | smartcard/smartcardSupervisor.test.ts BASE (cages), BASE + 200                       |
 * | 55400–55799 | smartcard/smartcardReload.test.ts BASE (cages, 4 each)                               |
 * | 55800–55999 | smartcard/cardListingPtrace.attack.test.ts PROXY_UID                                 |
 * | 56000–56099 | smartcard/trustedPinSupervisor.test.ts BASE (cages)                                  |
 * | 56100–56199 | cages/homeMigration.attack.test.ts CAGE_UID                                          |
 * | 56200–56299 | cages/homeMigrationRetry.test.ts CAGE_UID                                            |
 * | 56300–56399 | clipboard/xScreenResize.attack.test.ts CAGE_UID                                      |
 * | 56400–56499 | smartcard/cardClientModule.attack.test.ts PROXY_UID                                  |
 * | 52700–52749 | policy/nameServiceDown.attack.test.ts UID                                            |
 * | 52750–52799 | system/ownUidsSubuid.attack.test.ts ALICE (a local user)                             |
 * | 52800–52849 | system/accounts.test.ts UID                                                          |
 * | 52900–52949 | smartcard/workerModuleInit.test.ts PROXY_UID = 52900 + 2 × (pid % 25), and + 1       |
 * | 52950–52999 | bench/cardGuardCost.ts PROXY_UID, NODE_PROXY_UID, ALONE_PROXY_UID (a measure) |
 * | 56500–56549 | policy/nameServiceUnavailFirst.attack.test.ts UID                                    |
 * | 56550–56599 | policy/cageUidSubuid.attack.test.ts CAGE_UID, ALICE = CAGE_UID + 25                  |
 * | 56600–56649 | cageManager/managerReloadNameService.attack.test.ts UID, UID + 25                    |
 * | 56650–56699 | cageManager/adoptedUidAccount.attack.test.ts CAGE_UID                                |
 * | 56700–56707 | bench/cageStartSteps.ts CAGE_UID_BASE: 2 per run (pid % 4)                           |
 * | 56710–56719 | cages/sessionScript.test.ts CAGE_UID                                                 |
 * | 56760–56789 | cageManager/managerReloadGpg.attack.test.ts UID                                      |
 * | 56850–56899 | scripts/shellReach.attack.test.ts SHELL_UID: the shell's Chromium (pid % 50)          |
 * | 56720–56739 | smartcard/cardRecordRelayPairing.attack.test.ts PROXY_UID = 56720 + 2 × (pid % 10), and + 1 |
 * | 56740–56759 | smartcard/cardRecordRelayPtrace.attack.test.ts PROXY_UID = 56740 + 2 × (pid % 10), and + 1  |
 * | 56790–56791 | e2e/userDay.spec.ts UIDS (low, high; 56792–56819 kept for that spec)                   |
 * | 56840–56841 | scripts/startDisplay.test.ts UIDS (low, high; 56842–56849 kept for that file)         |
 * | 57300–57349 | scripts/launchPage.test.ts OTHER_UID: another local user (pid % 50)                   |
 * | 57500–57503 | e2e/levelNotices.spec.ts CASES (fr low, high; en low, high; 57504–57599 kept for it)  |
 * | 57600–57601 | bench/startFlakeLoop.ts LOW_UID, HIGH_UID: its starts' cages (not a test; 57602–57699 kept) |
 * | 56900–56909 | scripts/startCtrlC.test.ts LOW_UID, HIGH_UID (56902–56909 kept for it)             |
 * | 56910–56911 | kept (a LibreOffice recovery test not kept: the lead's note of 2026-12-07)            |
 * | 56912–56915 | e2e/stopNotice.spec.ts CASES (fr low, high; en low, high; 56916–56919 kept for it)    |
 * | 56920–56923 | e2e/stopNoticeReload.spec.ts CASES (fr low, high; en low, high; 56924–56929 kept for it) |
 * | 56930–56939 | apps/officeRecovery.test.ts LOW_UID, HIGH_UID (56932–56939 kept for it)             |
 * | 56708–56709, 56820–56839, 56940–57299, 57350–57499, 57700–58499 | free, for the next blocks |
 * | 58500–59999 | FIXED: literal uids, each number one file's (the test lists free ones when it fails) |
 * | 60578–61183 | systemd's unused window: the product's defaults (cages 61000 + position, proxies     |
 * |             | 61100 + position) and the tests of them (smartcardPolicy.test.ts, 60700–60731;       |
 * |             | proxyUidAccountAtStart.test.ts 60800 + pid % 100; cardProxyAccounts.test.ts 60900–)  |
 */
export const FIXED_TEST_UIDS = { min: 58_500, max: 59_999 };
