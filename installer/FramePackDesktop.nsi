; FramePack Desktop for Windows: a per-user installer (no administrator rights).
;
; Built on Linux by installer/build.sh, which passes every !define checked below. The folder and
; file names come from bootstrap.py's Layout, so the installer, the bootstrap and the uninstaller
; cannot disagree about where things are.
;
; What it does: unpack uv.exe, the bootstrap and the app's wheel into $INSTDIR\setup; install a
; private uv-managed Python; run the bootstrap, which picks the PyTorch build for the GPU and
; installs the app into $INSTDIR\venv, logging to $INSTDIR\install.log; then add shortcuts and
; an uninstaller. Running it again updates the installed app in place.

!macro RequireDefine NAME
  !ifndef ${NAME}
    !error "${NAME} is not defined: build with installer/build.sh"
  !endif
!macroend
!insertmacro RequireDefine VERSION
!insertmacro RequireDefine VI_VERSION
!insertmacro RequireDefine OUTFILE
!insertmacro RequireDefine PAYLOAD_DIR
!insertmacro RequireDefine WHEEL_NAME
!insertmacro RequireDefine PYTHON_VERSION
!insertmacro RequireDefine SETUP_DIR
!insertmacro RequireDefine VENV_DIR
!insertmacro RequireDefine PYTHON_DIR
!insertmacro RequireDefine CACHE_DIR
!insertmacro RequireDefine LAUNCHER
!insertmacro RequireDefine LOG_NAME
!insertmacro RequireDefine WARNINGS_NAME
!insertmacro RequireDefine INSTALL_DIR_NAME
!insertmacro RequireDefine DATA_DIR_NAME

Unicode true
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma
RequestExecutionLevel user

!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include WinVer.nsh
!include nsDialogs.nsh

!define APP_NAME "FramePack Desktop"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${INSTALL_DIR_NAME}"
!define SHORTCUT "${APP_NAME}.lnk"
!define SETUP "$INSTDIR\${SETUP_DIR}"
!define LOG "$INSTDIR\${LOG_NAME}"

Name "${APP_NAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${INSTALL_DIR_NAME}"
InstallDirRegKey HKCU "${UNINST_KEY}" "InstallLocation"
BrandingText "${APP_NAME} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VI_VERSION}"
VIAddVersionKey "ProductName" "${APP_NAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP_NAME} ${VERSION} setup"
VIAddVersionKey "LegalCopyright" "Apache-2.0"

Var DeleteData
Var DeleteDataBox

!define MUI_ABORTWARNING
!define MUI_WELCOMEPAGE_TEXT "This installs ${APP_NAME} ${VERSION} for your user account; no administrator rights are needed.$\r$\n$\r$\nSetup needs an internet connection: it installs a private Python and the PyTorch build that fits your graphics card (about 3 GB for NVIDIA GPUs).$\r$\n$\r$\nThe AI models (up to about 43 GB) are not part of this setup: the app downloads them on its first start, to a folder you choose, or uses ones you already have.$\r$\n$\r$\nRunning this setup again later updates the installed app in place."
!insertmacro MUI_PAGE_WELCOME
!define MUI_PAGE_CUSTOMFUNCTION_PRE SkipDirectoryOnUpdate
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN "$INSTDIR\${LAUNCHER}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP_NAME}"
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
UninstPage custom un.DataPage un.DataPageLeave
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${AtLeastWin10}
    MessageBox MB_ICONSTOP|MB_OK "${APP_NAME} needs 64-bit Windows 10 or 11." /SD IDOK
    Abort
  ${EndIf}
FunctionEnd

; An update goes where the app already is: no directory to choose.
Function SkipDirectoryOnUpdate
  ${If} ${FileExists} "$INSTDIR\${LAUNCHER}"
    Abort
  ${EndIf}
FunctionEnd

; Files of a running app cannot be replaced on Windows: opening the launcher for writing fails
; while it runs, so ask the user to close the app instead of failing halfway through.
!macro DEFINE_WAIT_FOR_APP PREFIX
Function ${PREFIX}WaitForAppToClose
  retry:
  ${If} ${FileExists} "$INSTDIR\${LAUNCHER}"
    ClearErrors
    FileOpen $0 "$INSTDIR\${LAUNCHER}" a
    ${If} ${Errors}
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "${APP_NAME} is running. Close it, then click Retry." /SD IDCANCEL IDRETRY retry
      Abort
    ${EndIf}
    FileClose $0
  ${EndIf}
FunctionEnd
!macroend
!insertmacro DEFINE_WAIT_FOR_APP ""
!insertmacro DEFINE_WAIT_FOR_APP "un."

Function AppendToLog
  Exch $1
  FileOpen $0 "${LOG}" a
  FileSeek $0 0 END
  FileWrite $0 "$1$\r$\n"
  FileClose $0
  Pop $1
FunctionEnd

Function InstallFailed
  DetailPrint "Installation failed; the log is ${LOG}"
  MessageBox MB_ICONSTOP|MB_OK "Installing ${APP_NAME} failed.$\r$\n$\r$\nThe log opens now: its last lines say what went wrong. If you report the problem, please attach this file:$\r$\n${LOG}" /SD IDOK
  IfSilent +2
  ExecShell "open" "${LOG}"
  SetErrorLevel 1
  Abort
FunctionEnd

; The bootstrap writes one warning per line (UTF-16LE) when the install worked but the user should
; know something, above all that no usable NVIDIA GPU was found.
Function ShowWarnings
  ${IfNot} ${FileExists} "$INSTDIR\${WARNINGS_NAME}"
    Return
  ${EndIf}
  StrCpy $2 ""
  FileOpen $0 "$INSTDIR\${WARNINGS_NAME}" r
  ${Do}
    ClearErrors
    FileReadUTF16LE $0 $1
    ${If} ${Errors}
      ${ExitDo}
    ${EndIf}
    StrCpy $2 "$2$1$\r$\n"
  ${Loop}
  FileClose $0
  MessageBox MB_ICONEXCLAMATION|MB_OK "${APP_NAME} is installed, but please note:$\r$\n$\r$\n$2$\r$\nThe full log is ${LOG}" /SD IDOK
FunctionEnd

Section "Install"
  AddSize 6500000
  Call WaitForAppToClose

  SetOutPath "${SETUP}"
  Delete "${SETUP}\*.whl"
  File /r "${PAYLOAD_DIR}/*"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Registered before the long steps, so that even a failed install can be removed from Settings.
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "FramePack Desktop contributors"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${LAUNCHER}"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1

  ; uv keeps its Pythons and its cache inside the install folder (the bootstrap does the same for
  ; its own uv calls), so nothing is left behind in the user's profile after uninstalling.
  System::Call 'kernel32::SetEnvironmentVariable(t "UV_PYTHON_INSTALL_DIR", t "$INSTDIR\${PYTHON_DIR}")'
  System::Call 'kernel32::SetEnvironmentVariable(t "UV_CACHE_DIR", t "$INSTDIR\${CACHE_DIR}")'

  DetailPrint "Installing Python ${PYTHON_VERSION} (private to ${APP_NAME})..."
  Push "=== ${APP_NAME} ${VERSION} setup: uv python install ${PYTHON_VERSION}"
  Call AppendToLog
  nsExec::ExecToLog '"$SYSDIR\cmd.exe" /c ""${SETUP}\uv.exe" python install ${PYTHON_VERSION} --no-bin --no-registry >>"${LOG}" 2>&1"'
  Pop $0
  ${If} $0 != "0"
    Push "uv python install failed (exit code $0)"
    Call AppendToLog
    Call InstallFailed
  ${EndIf}

  DetailPrint "Choosing PyTorch for this computer's GPU and installing the app; the first time this downloads about 3 GB..."
  nsExec::ExecToLog '"${SETUP}\uv.exe" run --no-project --managed-python --python ${PYTHON_VERSION} "${SETUP}\bootstrap.py" --install-dir "$INSTDIR" --wheel "${SETUP}\${WHEEL_NAME}" --uv "${SETUP}\uv.exe" --python-version ${PYTHON_VERSION}'
  Pop $0
  ${If} $0 != "0"
    Push "bootstrap failed (exit code $0)"
    Call AppendToLog
    Call InstallFailed
  ${EndIf}

  SetOutPath "$INSTDIR"
  CreateShortCut "$SMPROGRAMS\${SHORTCUT}" "$INSTDIR\${LAUNCHER}"
  CreateShortCut "$DESKTOP\${SHORTCUT}" "$INSTDIR\${LAUNCHER}"

  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINST_KEY}" "EstimatedSize" "$0"

  Call ShowWarnings
SectionEnd

Function un.onInit
  StrCpy $DeleteData ${BST_UNCHECKED}
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/DELETEDATA" $1
  ${IfNot} ${Errors}
    StrCpy $DeleteData ${BST_CHECKED}
  ${EndIf}
FunctionEnd

Function un.DataPage
  !insertmacro MUI_HEADER_TEXT "Models and settings" "Choose whether to keep them."
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 60u "Downloaded models (tens of GB), settings and history are in$\r$\n$LOCALAPPDATA\${DATA_DIR_NAME}$\r$\nand are kept, so that reinstalling does not download the models again.$\r$\n$\r$\nYour videos, and models in a folder you chose yourself, are never deleted."
  Pop $0
  ${NSD_CreateCheckbox} 0 70u 100% 12u "&Also delete the downloaded models, settings and history"
  Pop $DeleteDataBox
  ${NSD_SetState} $DeleteDataBox $DeleteData
  nsDialogs::Show
FunctionEnd

Function un.DataPageLeave
  ${NSD_GetState} $DeleteDataBox $DeleteData
FunctionEnd

; Only what the installer created is removed, never the whole folder: a user may have chosen an
; install folder that holds other files too.
Section "Uninstall"
  Call un.WaitForAppToClose
  Delete "$SMPROGRAMS\${SHORTCUT}"
  Delete "$DESKTOP\${SHORTCUT}"
  RMDir /r "$INSTDIR\${VENV_DIR}"
  RMDir /r "$INSTDIR\${PYTHON_DIR}"
  RMDir /r "$INSTDIR\${CACHE_DIR}"
  RMDir /r "${SETUP}"
  Delete "${LOG}"
  Delete "$INSTDIR\${WARNINGS_NAME}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINST_KEY}"
  ${If} $DeleteData == ${BST_CHECKED}
    DetailPrint "Deleting $LOCALAPPDATA\${DATA_DIR_NAME}"
    RMDir /r "$LOCALAPPDATA\${DATA_DIR_NAME}"
  ${EndIf}
SectionEnd
