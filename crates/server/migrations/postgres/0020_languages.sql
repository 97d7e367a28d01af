-- Languages (issue 22): the console's language an operator picked (`en`, `ru`), NULL while they
-- follow their browser's languages. (Mails need no column: they go out in the lead's `$language`
-- when the product speaks it, read when the mail is written.)
ALTER TABLE operators ADD COLUMN language TEXT;
