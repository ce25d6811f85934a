"""Rules: built-in rule objects, rules.yaml loading, and the conditions YAML rules use."""

from gateway.rules.auto_reply import AutoReply
from gateway.rules.bounce import Bounce
from gateway.rules.dmarc import DmarcFail
from gateway.rules.own_mail import OwnMail

BUILTIN = {rule.name: rule for rule in (AutoReply(), Bounce(), OwnMail(), DmarcFail())}
