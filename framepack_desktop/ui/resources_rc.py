# Resource object code (Python 3)
# Created by: object code
# Created by: The Resource Compiler for Qt version 6.12.0
# WARNING! All changes made in this file will be lost!

from PySide6 import QtCore

qt_resource_data = b"\
\x00\x00\x17y\
/\
* FramePack Desk\
top style sheet.\
 Placeholders li\
ke $$bg are fill\
ed from the them\
e palette (ui/th\
eme.py). */\x0a\x0aQWi\
dget { color: $t\
ext; font-size: \
$font_pt; }\x0aQMai\
nWindow, QDialog\
 { background: $\
bg; }\x0aQToolTip {\
 background: $pa\
nel2; color: $te\
xt; border: 1px \
solid $border; p\
adding: 4px 6px;\
 }\x0a\x0a#Sidebar, #S\
idePanel { backg\
round: $panel; }\
\x0a#Divider { back\
ground: $border;\
 }\x0a#Sidebar QScr\
ollArea, #Sideba\
r QScrollArea > \
QWidget > QWidge\
t { background: \
$panel; border: \
none; }\x0a#Stage {\
 background: $bg\
; }\x0a#PlayerFrame\
 { background: $\
stage; border: 1\
px solid $border\
; border-radius:\
 8px; }\x0a#Timelin\
eFrame { backgro\
und: $panel; bor\
der: 1px solid $\
border; border-r\
adius: 8px; }\x0a#R\
esultBar { backg\
round: $done_bg;\
 border: 1px sol\
id $done; border\
-radius: 8px; }\x0a\
\x0aQLabel#SectionT\
itle { color: $t\
ext_dim; font-we\
ight: 600; font-\
size: $small_pt;\
 letter-spacing:\
 1px; }\x0aQLabel#H\
int, QLabel#Capt\
ion { color: $te\
xt_dim; font-siz\
e: $small_pt; }\x0a\
QLabel#TimeLabel\
 { color: $text;\
 font-family: \x22D\
ejaVu Sans Mono\x22\
, \x22Consolas\x22, mo\
nospace; }\x0aQLabe\
l#DemoChip { bac\
kground: $warn_b\
g; color: $warn;\
 border: 1px sol\
id $warn; border\
-radius: 10px; p\
adding: 2px 10px\
; font-weight: 6\
00; }\x0aQLabel#Pro\
gressText { colo\
r: $text; }\x0a\x0aQSp\
litter::handle {\
 background: $bg\
; }\x0aQSplitter::h\
andle:horizontal\
 { width: 4px; }\
\x0aQSplitter::hand\
le:vertical { he\
ight: 4px; }\x0a\x0aQP\
lainTextEdit, QL\
ineEdit, QSpinBo\
x, QDoubleSpinBo\
x, QComboBox {\x0a \
   background: $\
field; border: 1\
px solid $border\
; border-radius:\
 6px; padding: 4\
px 6px;\x0a    sele\
ction-background\
-color: $accent;\
 selection-color\
: #ffffff;\x0a}\x0aQPl\
ainTextEdit:focu\
s, QLineEdit:foc\
us, QSpinBox:foc\
us, QDoubleSpinB\
ox:focus, QCombo\
Box:focus { bord\
er-color: $accen\
t; }\x0aQPlainTextE\
dit:disabled, QL\
ineEdit:disabled\
, QSpinBox:disab\
led, QDoubleSpin\
Box:disabled, QC\
omboBox:disabled\
 { color: $text_\
dim; background:\
 $panel; }\x0aQComb\
oBox::drop-down \
{ border: none; \
width: 18px; }\x0aQ\
ComboBox QAbstra\
ctItemView { bac\
kground: $panel2\
; border: 1px so\
lid $border; sel\
ection-backgroun\
d-color: $accent\
; }\x0aQSpinBox::up\
-button, QSpinBo\
x::down-button, \
QDoubleSpinBox::\
up-button, QDoub\
leSpinBox::down-\
button { width: \
0; border: none;\
 }\x0a\x0aQPushButton,\
 QToolButton {\x0a \
   background: $\
button; border: \
1px solid $borde\
r; border-radius\
: 6px; padding: \
5px 12px;\x0a}\x0aQPus\
hButton:hover, Q\
ToolButton:hover\
 { background: $\
button_hover; }\x0a\
QPushButton:pres\
sed, QToolButton\
:pressed { backg\
round: $border; \
}\x0aQPushButton:di\
sabled, QToolBut\
ton:disabled { c\
olor: $text_dim;\
 background: $pa\
nel; border-colo\
r: $panel2; }\x0aQT\
oolButton:checke\
d { background: \
$accent_soft; bo\
rder-color: $acc\
ent; }\x0aQPushButt\
on#Primary { bac\
kground: $accent\
; border: 1px so\
lid $accent; col\
or: #ffffff; fon\
t-weight: 600; p\
adding: 8px 12px\
; font-size: $bi\
g_pt; }\x0aQPushBut\
ton#Primary:hove\
r { background: \
$accent_hover; }\
\x0aQPushButton#Pri\
mary:disabled { \
background: $but\
ton; color: $tex\
t_dim; border-co\
lor: $border; }\x0a\
QPushButton#Dang\
er { background:\
 $error; border:\
 1px solid $erro\
r; color: #fffff\
f; font-weight: \
600; padding: 8p\
x 12px; font-siz\
e: $big_pt; }\x0aQT\
oolButton#Fold {\
 background: tra\
nsparent; border\
: none; color: $\
text_dim; font-w\
eight: 600; padd\
ing: 4px 0; text\
-align: left; }\x0a\
QToolButton#Fold\
:hover { color: \
$text; }\x0aQToolBu\
tton#Transport {\
 background: tra\
nsparent; border\
: none; border-r\
adius: 6px; padd\
ing: 4px; }\x0aQToo\
lButton#Transpor\
t:hover { backgr\
ound: $button_ho\
ver; }\x0aQToolButt\
on#Transport:che\
cked { backgroun\
d: $accent_soft;\
 }\x0a\x0aQCheckBox { \
spacing: 6px; }\x0a\
QCheckBox::indic\
ator { width: 15\
px; height: 15px\
; border: 1px so\
lid $border; bor\
der-radius: 4px;\
 background: $fi\
eld; }\x0aQCheckBox\
::indicator:chec\
ked { background\
: $accent; borde\
r-color: $accent\
; }\x0aQRadioButton\
 { spacing: 6px;\
 font-weight: 60\
0; }\x0aQRadioButto\
n::indicator { w\
idth: 14px; heig\
ht: 14px; border\
: 1px solid $tex\
t_dim; border-ra\
dius: 8px; backg\
round: $field; }\
\x0aQRadioButton::i\
ndicator:checked\
 { background: $\
accent; border: \
3px solid $field\
; outline: none;\
 }\x0aQRadioButton:\
disabled { color\
: $text_dim; }\x0a\x0a\
QTabWidget::pane\
 { border: none;\
 background: $pa\
nel; }\x0aQTabBar::\
tab { background\
: transparent; c\
olor: $text_dim;\
 padding: 8px 14\
px; border: none\
; border-bottom:\
 2px solid trans\
parent; }\x0aQTabBa\
r::tab:selected \
{ color: $text; \
border-bottom: 2\
px solid $accent\
; }\x0aQTabBar::tab\
:hover { color: \
$text; }\x0a\x0aQListW\
idget { backgrou\
nd: $panel; bord\
er: none; outlin\
e: none; }\x0aQList\
Widget::item { b\
order-radius: 6p\
x; padding: 6px;\
 margin: 2px 0; \
}\x0aQListWidget::i\
tem:selected { b\
ackground: $acce\
nt_soft; color: \
$text; }\x0aQListWi\
dget::item:hover\
 { background: $\
panel2; }\x0a\x0aQProg\
ressBar { backgr\
ound: $field; bo\
rder: 1px solid \
$border; border-\
radius: 4px; hei\
ght: 8px; text-a\
lign: center; }\x0a\
QProgressBar::ch\
unk { background\
: $accent; borde\
r-radius: 3px; }\
\x0a\x0aQStatusBar { b\
ackground: $pane\
l; border-top: 1\
px solid $border\
; }\x0aQStatusBar Q\
Label { color: $\
text_dim; }\x0aQSta\
tusBar::item { b\
order: none; }\x0a\x0a\
#ErrorBanner { b\
ackground: $erro\
r_bg; border: 1p\
x solid $error; \
border-radius: 6\
px; }\x0a#ErrorBann\
er QLabel { colo\
r: $text; }\x0a#Err\
orBanner QPushBu\
tton { backgroun\
d: transparent; \
border: 1px soli\
d $error; }\x0a#Err\
orBanner[kind=\x22n\
otice\x22], #Notice\
Banner { backgro\
und: $accent_sof\
t; border: 1px s\
olid $accent; bo\
rder-radius: 6px\
; }\x0a#NoticeBanne\
r QLabel { color\
: $text; }\x0a#Noti\
ceBanner QLabel#\
NoticeTitle { fo\
nt-weight: 600; \
}\x0a#NoticeBanner \
QPushButton { pa\
dding: 3px 12px;\
 }\x0a#NoticeBanner\
 QPushButton#Pri\
mary { font-size\
: $font_pt; padd\
ing: 3px 12px; }\
\x0a\x0aQScrollBar:ver\
tical { backgrou\
nd: transparent;\
 width: 10px; ma\
rgin: 0; }\x0aQScro\
llBar::handle:ve\
rtical { backgro\
und: $border; bo\
rder-radius: 4px\
; min-height: 24\
px; }\x0aQScrollBar\
:horizontal { ba\
ckground: transp\
arent; height: 1\
0px; margin: 0; \
}\x0aQScrollBar::ha\
ndle:horizontal \
{ background: $b\
order; border-ra\
dius: 4px; min-w\
idth: 24px; }\x0aQS\
crollBar::add-li\
ne, QScrollBar::\
sub-line { width\
: 0; height: 0; \
}\x0aQScrollBar::ad\
d-page, QScrollB\
ar::sub-page { b\
ackground: trans\
parent; }\x0a\x0aQMenu\
 { background: $\
panel2; border: \
1px solid $borde\
r; padding: 4px;\
 }\x0aQMenu::item {\
 padding: 5px 18\
px; border-radiu\
s: 4px; }\x0aQMenu:\
:item:selected {\
 background: $ac\
cent; color: #ff\
ffff; }\x0a\
\x00\x00\x00\xc6\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M12 5v14M6\
 13l6 6 6-6\x22/></\
svg>\x0a\
\x00\x00\x01\x04\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M12 3l2.2 \
6.3L20.5 12l-6.3\
 2.2L12 20.5l-2.\
2-6.3L3.5 12l6.3\
-2.7z\x22 fill=\x22cur\
rentColor\x22/></sv\
g>\x0a\
\x00\x00\x00\xd6\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M7 4.5v15l\
12-7.5z\x22 fill=\x22c\
urrentColor\x22/></\
svg>\x0a\
\x00\x00\x00\xc6\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M12 19V5M6\
 11l6-6 6 6\x22/></\
svg>\x0a\
\x00\x00\x01 \
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M17 2l3 3-\
3 3\x22/><path d=\x22M\
4 11V9a4 4 0 0 1\
 4-4h12\x22/><path \
d=\x22M7 22l-3-3 3-\
3\x22/><path d=\x22M20\
 13v2a4 4 0 0 1-\
4 4H4\x22/></svg>\x0a\
\x00\x00\x00\xfa\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M3 7a2 2 0\
 0 1 2-2h4l2 2h8\
a2 2 0 0 1 2 2v8\
a2 2 0 0 1-2 2H5\
a2 2 0 0 1-2-2z\x22\
/></svg>\x0a\
\x00\x00\x00\xfa\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M12 3v12M7\
 8l5-5 5 5\x22/><pa\
th d=\x22M5 15v4a2 \
2 0 0 0 2 2h10a2\
 2 0 0 0 2-2v-4\x22\
/></svg>\x0a\
\x00\x00\x012\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><re\
ct x=\x226\x22 y=\x224.5\x22\
 width=\x224\x22 heigh\
t=\x2215\x22 rx=\x221\x22 fi\
ll=\x22currentColor\
\x22/><rect x=\x2214\x22 \
y=\x224.5\x22 width=\x224\
\x22 height=\x2215\x22 rx\
=\x221\x22 fill=\x22curre\
ntColor\x22/></svg>\
\x0a\
\x00\x00\x02\xef\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><ci\
rcle cx=\x2212\x22 cy=\
\x2212\x22 r=\x223\x22/><pat\
h d=\x22M19.4 15a1.\
7 1.7 0 0 0 .3 1\
.8l.1.1a2 2 0 1 \
1-2.8 2.8l-.1-.1\
a1.7 1.7 0 0 0-1\
.8-.3 1.7 1.7 0 \
0 0-1 1.5V21a2 2\
 0 1 1-4 0v-.1a1\
.7 1.7 0 0 0-1.1\
-1.5 1.7 1.7 0 0\
 0-1.8.3l-.1.1a2\
 2 0 1 1-2.8-2.8\
l.1-.1a1.7 1.7 0\
 0 0 .3-1.8 1.7 \
1.7 0 0 0-1.5-1H\
3a2 2 0 1 1 0-4h\
.1a1.7 1.7 0 0 0\
 1.5-1.1 1.7 1.7\
 0 0 0-.3-1.8l-.\
1-.1a2 2 0 1 1 2\
.8-2.8l.1.1a1.7 \
1.7 0 0 0 1.8.3H\
9a1.7 1.7 0 0 0 \
1-1.5V3a2 2 0 1 \
1 4 0v.1a1.7 1.7\
 0 0 0 1 1.5 1.7\
 1.7 0 0 0 1.8-.\
3l.1-.1a2 2 0 1 \
1 2.8 2.8l-.1.1a\
1.7 1.7 0 0 0-.3\
 1.8V9a1.7 1.7 0\
 0 0 1.5 1H21a2 \
2 0 1 1 0 4h-.1a\
1.7 1.7 0 0 0-1.\
5 1z\x22/></svg>\x0a\
\x00\x00\x00\xd3\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M4 7h16M9 \
7V4h6v3M6 7l1 13\
h10l1-13\x22/></svg\
>\x0a\
\x00\x00\x00\xe6\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M17 5v14l-\
9-7z\x22 fill=\x22curr\
entColor\x22/><path\
 d=\x22M6 5v14\x22/></\
svg>\x0a\
\x00\x00\x01\x12\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M19 5v14\x22/\
><path d=\x22M5 5v1\
4l6-7z\x22 fill=\x22cu\
rrentColor\x22/><pa\
th d=\x22M11 5v14l6\
-7z\x22 fill=\x22curre\
ntColor\x22/></svg>\
\x0a\
\x00\x00\x00\xc5\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M6 6l12 12\
M18 6L6 18\x22/></s\
vg>\x0a\
\x00\x00\x01\x14\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M5 5v14\x22/>\
<path d=\x22M19 5v1\
4l-6-7z\x22 fill=\x22c\
urrentColor\x22/><p\
ath d=\x22M13 5v14l\
-6-7z\x22 fill=\x22cur\
rentColor\x22/></sv\
g>\x0a\
\x00\x00\x00\xe5\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M7 5v14l9-\
7z\x22 fill=\x22curren\
tColor\x22/><path d\
=\x22M18 5v14\x22/></s\
vg>\x0a\
\x00\x00\x01\x19\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><re\
ct x=\x228\x22 y=\x228\x22 w\
idth=\x2212\x22 height\
=\x2212\x22 rx=\x222\x22/><p\
ath d=\x22M16 8V6a2\
 2 0 0 0-2-2H6a2\
 2 0 0 0-2 2v8a2\
 2 0 0 0 2 2h2\x22/\
></svg>\x0a\
\x00\x00\x01z\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><re\
ct x=\x222\x22 y=\x225\x22 w\
idth=\x2220\x22 height\
=\x2214\x22 rx=\x223\x22 fil\
l=\x22#2f6fec\x22 stro\
ke=\x22none\x22/><path\
 d=\x22M6 9h3v6H6zM\
10.5 9h3v6h-3z\x22 \
fill=\x22#ffffff\x22 s\
troke=\x22none\x22 opa\
city=\x22.55\x22/><pat\
h d=\x22M15 9h3v6h-\
3z\x22 fill=\x22#fffff\
f\x22 stroke=\x22none\x22\
/></svg>\x0a\
\x00\x00\x01\x0f\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><re\
ct x=\x223\x22 y=\x224\x22 w\
idth=\x2218\x22 height\
=\x2216\x22 rx=\x222\x22/><c\
ircle cx=\x229\x22 cy=\
\x2210\x22 r=\x222\x22/><pat\
h d=\x22M21 16l-5-5\
-9 9\x22/></svg>\x0a\
\x00\x00\x01\x0d\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><re\
ct x=\x223\x22 y=\x224\x22 w\
idth=\x2218\x22 height\
=\x2216\x22 rx=\x222\x22/><p\
ath d=\x22M7 4v16M1\
7 4v16M3 9h4M3 1\
5h4M17 9h4M17 15\
h4\x22/></svg>\x0a\
\x00\x00\x00\xea\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><re\
ct x=\x226\x22 y=\x226\x22 w\
idth=\x2212\x22 height\
=\x2212\x22 rx=\x222\x22 fil\
l=\x22currentColor\x22\
/></svg>\x0a\
\x00\x00\x00\xc1\
<\
svg xmlns=\x22http:\
//www.w3.org/200\
0/svg\x22 viewBox=\x22\
0 0 24 24\x22 fill=\
\x22none\x22 stroke=\x22c\
urrentColor\x22 str\
oke-width=\x222\x22 st\
roke-linecap=\x22ro\
und\x22 stroke-line\
join=\x22round\x22><pa\
th d=\x22M12 5v14M5\
 12h14\x22/></svg>\x0a\
\
"

qt_resource_name = b"\
\x00\x05\
\x00o\xa6S\
\x00i\
\x00c\x00o\x00n\x00s\
\x00\x05\
\x00z\xc0%\
\x00s\
\x00t\x00y\x00l\x00e\
\x00\x07\
\x08sXc\
\x00a\
\x00p\x00p\x00.\x00q\x00s\x00s\
\x00\x08\
\x06\xe1W\xa7\
\x00d\
\x00o\x00w\x00n\x00.\x00s\x00v\x00g\
\x00\x09\
\x08\x8e\xae\x07\
\x00s\
\x00p\x00a\x00r\x00k\x00.\x00s\x00v\x00g\
\x00\x08\
\x02\x8cT'\
\x00p\
\x00l\x00a\x00y\x00.\x00s\x00v\x00g\
\x00\x06\
\x07\xc3Z\xc7\
\x00u\
\x00p\x00.\x00s\x00v\x00g\
\x00\x08\
\x06cT\xa7\
\x00l\
\x00o\x00o\x00p\x00.\x00s\x00v\x00g\
\x00\x0a\
\x0a\xc8\xf6\x87\
\x00f\
\x00o\x00l\x00d\x00e\x00r\x00.\x00s\x00v\x00g\
\x00\x0a\
\x06\x9a\xc4'\
\x00e\
\x00x\x00p\x00o\x00r\x00t\x00.\x00s\x00v\x00g\
\x00\x09\
\x0c\x98\xb7\xc7\
\x00p\
\x00a\x00u\x00s\x00e\x00.\x00s\x00v\x00g\
\x00\x0c\
\x0b\xdf,\xc7\
\x00s\
\x00e\x00t\x00t\x00i\x00n\x00g\x00s\x00.\x00s\x00v\x00g\
\x00\x09\
\x08\x9b\xad\xc7\
\x00t\
\x00r\x00a\x00s\x00h\x00.\x00s\x00v\x00g\
\x00\x0d\
\x02\xc6<'\
\x00s\
\x00t\x00e\x00p\x00-\x00b\x00a\x00c\x00k\x00.\x00s\x00v\x00g\
\x00\x0a\
\x0cH>\xa7\
\x00t\
\x00o\x00-\x00e\x00n\x00d\x00.\x00s\x00v\x00g\
\x00\x09\
\x06\x98\x8e\xa7\
\x00c\
\x00l\x00o\x00s\x00e\x00.\x00s\x00v\x00g\
\x00\x0c\
\x07\xf3\xcf\x87\
\x00t\
\x00o\x00-\x00s\x00t\x00a\x00r\x00t\x00.\x00s\x00v\x00g\
\x00\x10\
\x0e\xe3\x22g\
\x00s\
\x00t\x00e\x00p\x00-\x00f\x00o\x00r\x00w\x00a\x00r\x00d\x00.\x00s\x00v\x00g\
\x00\x08\
\x06|W\x87\
\x00c\
\x00o\x00p\x00y\x00.\x00s\x00v\x00g\
\x00\x07\
\x08sZ\x07\
\x00a\
\x00p\x00p\x00.\x00s\x00v\x00g\
\x00\x09\
\x07\xd8\xba\xa7\
\x00i\
\x00m\x00a\x00g\x00e\x00.\x00s\x00v\x00g\
\x00\x08\
\x000Wg\
\x00f\
\x00i\x00l\x00m\x00.\x00s\x00v\x00g\
\x00\x08\
\x0bcU\x87\
\x00s\
\x00t\x00o\x00p\x00.\x00s\x00v\x00g\
\x00\x08\
\x03\xc6T'\
\x00p\
\x00l\x00u\x00s\x00.\x00s\x00v\x00g\
"

qt_resource_struct = b"\
\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x01\
\x00\x00\x00\x00\x00\x02\x00\x00\x00\x15\x00\x00\x00\x04\
\x00\x00\x00\x10\x00\x02\x00\x00\x00\x01\x00\x00\x00\x03\
\x00\x00\x00 \x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\
\x00\x00\x01\xfa\x00\x00\x00\x00\x00\x01\x00\x00+\x8b\
\x00\x00\x00b\x00\x00\x00\x00\x00\x01\x00\x00\x19O\
\x00\x00\x01\x22\x00\x00\x00\x00\x00\x01\x00\x00#\x13\
\x00\x00\x02&\x00\x00\x00\x00\x00\x01\x00\x00-\x8a\
\x00\x00\x00\x8a\x00\x00\x00\x00\x00\x01\x00\x00\x1a\xf3\
\x00\x00\x01\xb8\x00\x00\x00\x00\x00\x01\x00\x00'\xdd\
\x00\x00\x01\x5c\x00\x00\x00\x00\x00\x01\x00\x00%\x13\
\x00\x00\x00\xba\x00\x00\x00\x00\x00\x01\x00\x00\x1d\x15\
\x00\x00\x004\x00\x00\x00\x00\x00\x01\x00\x00\x17}\
\x00\x00\x00x\x00\x00\x00\x00\x00\x01\x00\x00\x1a)\
\x00\x00\x01\xe2\x00\x00\x00\x00\x00\x01\x00\x00*x\
\x00\x00\x01t\x00\x00\x00\x00\x00\x01\x00\x00%\xdc\
\x00\x00\x01\xce\x00\x00\x00\x00\x00\x01\x00\x00(\xfa\
\x00\x00\x00J\x00\x00\x00\x00\x00\x01\x00\x00\x18G\
\x00\x00\x01\x0a\x00\x00\x00\x00\x00\x01\x00\x00\x22<\
\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x01\x00\x00\x1c\x17\
\x00\x00\x02\x10\x00\x00\x00\x00\x00\x01\x00\x00,\x9c\
\x00\x00\x00\xec\x00\x00\x00\x00\x00\x01\x00\x00\x1fI\
\x00\x00\x01B\x00\x00\x00\x00\x00\x01\x00\x00#\xfd\
\x00\x00\x00\xd4\x00\x00\x00\x00\x00\x01\x00\x00\x1e\x13\
\x00\x00\x01\x92\x00\x00\x00\x00\x00\x01\x00\x00&\xf4\
"

def qInitResources():
    QtCore.qRegisterResourceData(0x01, qt_resource_struct, qt_resource_name, qt_resource_data)

def qCleanupResources():
    QtCore.qUnregisterResourceData(0x01, qt_resource_struct, qt_resource_name, qt_resource_data)

qInitResources()
