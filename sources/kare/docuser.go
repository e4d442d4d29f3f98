package kare

// docUserJSON is the user of the docs' example response, copied verbatim
// (testdata/providers/kare/doc-example.json holds the whole response). The
// simulator serves it as the only user of a population of one, so that
// `export simulate --users 1` answers what the docs show.
const docUserJSON = `{
  "id": 1,
  "key": "a13f2277-4009-458b-93c6-bc77f447281b",
  "type": 1,
  "firstName": "John",
  "lastName": "Doe",
  "email": "test@mail.com",
  "phone": "0123456789",
  "lang": "fr",
  "activatedAt": "2024-12-09T14:23:00.000Z",
  "updatedAt": "2024-12-09T14:23:00.000Z",
  "createdAt": "2024-01-15T08:45:00.000Z",
  "deletedAt": "2024-12-15T10:00:00.000Z",
  "presignedUrl": "https://example.com/presigned-url",
  "permissions": {
    "group": 1,
    "read": [
      1,
      2
    ],
    "manage": [
      1,
      2
    ]
  },
  "scope": 1,
  "profession": {
    "id": 1,
    "name": "Urgent"
  },
  "diplomas": [
    {
      "id": 1,
      "name": "Urgent"
    }
  ],
  "actions": {
    "canBeUpdated": true,
    "canBeDeleted": true
  },
  "userRuleActions": {
    "canBeDeleted": true
  },
  "userRules": [
    {
      "upcomingInterventionStatus": 1,
      "nextIntervention": {
        "id": 1,
        "status": 2,
        "scheduledStart": "2024-12-01T12:34:56.000Z",
        "scheduledEnd": "2024-12-05T14:56:23.000Z"
      },
      "lastIntervention": {
        "id": 1,
        "status": 2,
        "scheduledStart": "2024-12-01T12:34:56.000Z",
        "scheduledEnd": "2024-12-05T14:56:23.000Z",
        "attendanceStatus": "present",
        "attendanceProof": {
          "id": 1,
          "name": "document.pdf",
          "presignedUrl": "https://example.com/presigned-url"
        }
      },
      "id": 1,
      "dueAt": "2025-03-15T09:00:00.000Z",
      "contractId": 8,
      "routineId": 5,
      "archivedAt": "2024-12-10T10:00:00.000Z",
      "deletedAt": "2024-12-11T15:30:00.000Z",
      "createdAt": "2024-01-15T08:45:00.000Z",
      "rule": {
        "id": 1,
        "name": "Annual Safety Check",
        "sourceType": 1,
        "userScopes": [
          {
            "professionIds": [
              1,
              2,
              3
            ],
            "diplomaIds": [
              1,
              2,
              3
            ]
          }
        ],
        "rrule": "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=1",
        "createdAt": "2024-01-15T08:45:00.000Z"
      }
    }
  ],
  "stats": {
    "nbPastDue": 5,
    "nbFutureDue": 3
  },
  "userOrganizationActions": {
    "canBeUpdated": true,
    "canBeDeleted": true,
    "isMe": true
  }
}`
